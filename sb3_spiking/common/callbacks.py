"""``SpikeStatsCallback``: spike and energy statistics in the SB3 logger (TensorBoard, CSV, ...)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

from sb3_spiking.common.energy import energy_report
from sb3_spiking.snn.recording import SpikeRecorder
from sb3_spiking.snn.validation import check_int, check_real


def _to_numpy(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: _to_numpy(v) for k, v in obs.items()}
    return obs.detach().cpu().numpy() if isinstance(obs, th.Tensor) else np.asarray(obs)


class SpikeStatsCallback(BaseCallback):
    """Measure the policy's spiking activity on a sample of recent observations at the first
    step and then every ``log_freq`` environment steps, and record, per decision:

    - ``spiking/firing_rate``, ``spiking/synaptic_ops``, ``spiking/energy_ratio``,
      ``spiking/spikes``, ``spiking/energy_j`` (the whole decision path);
    - ``spiking/firing_rate/<layer>`` for every spiking layer (its module name in the policy,
      e.g. ``actor.mu.0.lifs.0``): a dead (0) or saturated (1) layer shows up here first;
    - ``spiking/firing_rate_hist/<layer>``: the per-neuron firing rates, as a TensorBoard
      histogram (other logger formats leave it out).

    The values are written when SB3 next dumps its logs (every ``log_interval`` episodes or
    iterations), so even a run shorter than ``log_freq`` logs the first measurement.
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
        if self.n_calls == 1 or self.n_calls % self.log_freq == 0:
            self.log_now()
        return True

    def log_now(self) -> dict[str, Any]:
        """Measure and record immediately; returns the report (with ``"neuron_rates"``: per-layer
        arrays of per-neuron firing rates)."""
        with SpikeRecorder(self.model.policy) as recorder:
            report = energy_report(self.model, self._sample_observations())
        for key in ("firing_rate", "synaptic_ops", "energy_ratio", "spikes", "energy_j"):
            self.logger.record(f"spiking/{key}", report[key])
        report["neuron_rates"] = {}
        for name, layer in recorder.layers.items():
            rates = layer.rates()
            report["neuron_rates"][name] = rates
            self.logger.record(f"spiking/firing_rate/{name}", float(rates.mean()))
            self.logger.record(
                f"spiking/firing_rate_hist/{name}", th.as_tensor(rates), exclude=("stdout", "log", "json", "csv")
            )
        self.last_report = report
        return report


class StopTrainingWhenSolved(BaseCallback):
    """Stop ``learn`` once the deterministic policy solves the task on a separate evaluation env.

    SB3's ``EvalCallback`` + ``StopTrainingOnRewardThreshold``, packaged so that it needs no
    environment argument and can be named in an RL Zoo ``callback:`` hyperparameter (the zoo builds
    callbacks from their class name and keyword arguments only): the evaluation env is made from
    the training env's Gymnasium id when training starts. Every ``eval_freq`` environment steps the
    current policy plays ``n_eval_episodes`` deterministic episodes; training stops at the first
    evaluation whose mean return reaches ``reward_threshold``, otherwise it runs its full budget.

    Why it exists: with DQN-style learning on CartPole the greedy policy reaches the maximum return
    and later collapses (measured learning curves: ``benchmarks/dsqn_cartpole_tuning/``), so the
    policy at an arbitrary final step is a lottery. Stopping when solved is the standard remedy
    (SB3's documentation example for ``StopTrainingOnRewardThreshold``).

    :param reward_threshold: mean evaluation return that counts as solved.
    :param eval_freq: environment steps between evaluations (with ``n_envs`` training envs, every
        ``eval_freq // n_envs`` vectorised steps). A ``VecNormalize`` training env (RL Zoo's
        ``normalize: True``) is evaluated through its observation statistics, on raw rewards.
    :param n_eval_episodes: episodes per evaluation.
    :param eval_seed: seed of the evaluation env (its episodes' start states); ``None``: the
        model's seed + 100_000, so it never coincides with a training or final-evaluation seed.
    :param verbose: 1 prints each evaluation (SB3's ``EvalCallback`` output).
    """

    def __init__(
        self,
        reward_threshold: float,
        eval_freq: int = 1000,
        n_eval_episodes: int = 5,
        eval_seed: int | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.reward_threshold = check_real("reward_threshold", reward_threshold)
        self.eval_freq = check_int("eval_freq", eval_freq)
        self.n_eval_episodes = check_int("n_eval_episodes", n_eval_episodes)
        self.eval_seed = eval_seed
        self.eval_callback: Any = None
        self.solved_at: int | None = None  # num_timesteps when training stopped, if it did

    def _init_callback(self) -> None:
        from stable_baselines3.common.callbacks import (
            EvalCallback,
            StopTrainingOnRewardThreshold,
        )
        from stable_baselines3.common.env_util import make_vec_env
        from stable_baselines3.common.vec_env import VecNormalize

        spec = self.training_env.get_attr("spec")[0]
        if spec is None:
            raise ValueError("StopTrainingWhenSolved needs a training env made from a registered Gymnasium id")
        seed = self.eval_seed if self.eval_seed is not None else (self.model.seed or 0) + 100_000
        eval_env = make_vec_env(spec.id, n_envs=1, seed=seed)
        if self.model.get_vec_normalize_env() is not None:
            # RL Zoo's `normalize: True`: EvalCallback copies the training statistics into this
            # wrapper before every evaluation (sync_envs_normalization); rewards stay raw.
            eval_env = VecNormalize(eval_env, training=False, norm_reward=False)
        # eval_freq counts env steps; the callback is called once per vectorised step (n_envs steps)
        self.eval_callback = EvalCallback(
            eval_env,
            callback_on_new_best=StopTrainingOnRewardThreshold(self.reward_threshold, verbose=self.verbose),
            n_eval_episodes=self.n_eval_episodes,
            eval_freq=max(self.eval_freq // self.training_env.num_envs, 1),
            deterministic=True,
            verbose=self.verbose,
        )
        self.eval_callback.init_callback(self.model)

    def _on_step(self) -> bool:
        self.eval_callback.update_locals(self.locals)
        keep_going = self.eval_callback.on_step()
        if not keep_going:
            self.solved_at = self.num_timesteps
        return keep_going
