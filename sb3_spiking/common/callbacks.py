"""``SpikeStatsCallback``: spike and energy statistics in the SB3 logger (TensorBoard, CSV, ...)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

from sb3_spiking.common.energy import energy_report
from sb3_spiking.snn.options import check_int


def _to_numpy(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: _to_numpy(v) for k, v in obs.items()}
    return obs.detach().cpu().numpy() if isinstance(obs, th.Tensor) else np.asarray(obs)


class SpikeStatsCallback(BaseCallback):
    """Every ``log_freq`` environment steps, measure the policy's spiking activity on a sample of
    recent observations and record ``spiking/firing_rate``, ``spiking/synaptic_ops``,
    ``spiking/energy_ratio`` (plus ``spiking/spikes`` and ``spiking/energy_j``), per decision.

    Observations come from the replay buffer (off-policy), the rollout buffer (on-policy) or, before
    either has data, the latest observation. Measuring is a separate no-grad forward pass: training
    itself runs uninstrumented.

    :param log_freq: environment steps (callback calls) between measurements.
    :param n_samples: observations per measurement.
    """

    def __init__(self, log_freq: int = 1000, n_samples: int = 256, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.log_freq = check_int("log_freq", log_freq)
        self.n_samples = check_int("n_samples", n_samples)
        self.last_report: dict[str, Any] | None = None

    def _sample_observations(self) -> Any:
        replay = getattr(self.model, "replay_buffer", None)
        if replay is not None and replay.size() > 0:
            return _to_numpy(replay.sample(self.n_samples, env=self.model.get_vec_normalize_env()).observations)
        rollout = getattr(self.model, "rollout_buffer", None)
        if rollout is not None and (rollout.full or rollout.pos > 0):
            end = rollout.buffer_size if rollout.full else rollout.pos
            obs = rollout.observations
            if isinstance(obs, dict):
                return {k: v[:end].reshape(-1, *v.shape[2:])[-self.n_samples :] for k, v in obs.items()}
            return obs[:end].reshape(-1, *obs.shape[2:])[-self.n_samples :]
        return self.locals["new_obs"]

    def _on_step(self) -> bool:
        if self.n_calls % self.log_freq == 0:
            self.log_now()
        return True

    def log_now(self) -> dict[str, Any]:
        """Measure and record immediately; returns the report."""
        report = energy_report(self.model, self._sample_observations())
        for key in ("firing_rate", "synaptic_ops", "energy_ratio", "spikes", "energy_j"):
            self.logger.record(f"spiking/{key}", report[key])
        self.last_report = report
        return report
