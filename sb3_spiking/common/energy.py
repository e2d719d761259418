"""``energy_report``: spikes, operations and an energy estimate for any SB3 model's decisions."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy

from sb3_spiking.snn.accounting import OpCounter


def _batch_size(obs: th.Tensor | dict[str, th.Tensor]) -> int:
    first = next(iter(obs.values())) if isinstance(obs, dict) else obs
    return int(first.shape[0])


def energy_report(
    model: BaseAlgorithm | BasePolicy,
    observations: np.ndarray | dict[str, np.ndarray],
    deterministic: bool = True,
    state: tuple[np.ndarray, ...] | None = None,
    episode_start: np.ndarray | None = None,
) -> dict[str, Any]:
    """Run the model's decision path (what ``predict`` runs) on ``observations`` and count.

    Works for spiking and plain SB3 models alike (an ANN reports ``energy_ratio`` 1), so the two
    can be compared side by side. All figures are **per decision** (per observation), averaged
    over the batch:

    - ``firing_rate``: spikes / (neurons x T) over every LIF layer on the path;
    - ``spikes``: spikes emitted per decision;
    - ``synaptic_ops``: accumulates triggered by spikes (spikes x fan-out);
    - ``macs``: dense multiply-accumulates (real-valued inputs: direct-coded first layers, ANN
      parts such as a CNN extractor);
    - ``energy_j``: ``0.9 pJ x synaptic_ops + 4.6 pJ x macs`` (45 nm figures);
    - ``ann_macs`` / ``ann_energy_j``: the same-shape ANN's MACs and energy;
    - ``energy_ratio``: ``energy_j / ann_energy_j``;
    - ``layers``: the per-layer breakdown; ``constants``: the energy constants used.

    :param model: an SB3 algorithm (``SpikingTD3``, ``DSQN``, ``PPO``, ...) or a policy.
    :param observations: a batch of observations as the policy sees them (already normalised if
        the agent was trained with ``VecNormalize``); a single observation is a batch of one.
    :param deterministic: passed to the policy's prediction.
    :param state: recurrent policies (sb3-contrib's ``RecurrentPPO``, ``SpikingRecurrentPPO``):
        the state each decision is taken in, as ``predict`` takes and returns it (``(h, c)``, each
        ``[layers, n, width]``, one column per observation); None: at rest (an episode's first
        decision). A spiking policy's firing, and so its cost, depends on the carried membrane.
    :param episode_start: recurrent policies: 1 where a decision starts an episode (the state is
        then set to rest first), as ``predict``'s ``episode_start``; None: all 0.
    """
    policy = model.policy if isinstance(model, BaseAlgorithm) else model
    if not isinstance(policy, BasePolicy):
        raise TypeError(f"energy_report needs an SB3 model or policy, got {type(model).__name__}")
    obs_tensor, _ = policy.obs_to_tensor(observations)
    was_training = policy.training
    policy.set_training_mode(False)
    try:
        with OpCounter(policy) as counter, th.no_grad():
            if isinstance(policy, RecurrentActorCriticPolicy):
                n = _batch_size(obs_tensor)
                if state is None:
                    layers, _, width = policy.lstm_hidden_state_shape
                    state = (np.zeros((layers, n, width)), np.zeros((layers, n, width)))  # at rest
                states = tuple(th.as_tensor(np.asarray(s), dtype=th.float32, device=policy.device) for s in state)
                if states[0].shape[1] != n:
                    raise ValueError(f"state holds {states[0].shape[1]} columns for {n} observations")
                starts = np.zeros(n) if episode_start is None else np.asarray(episode_start, dtype=np.float32).reshape(n)
                starts_t = th.as_tensor(starts, dtype=th.float32, device=policy.device)
                policy._predict(obs_tensor, states, starts_t, deterministic=deterministic)
            elif state is not None:
                raise ValueError(f"energy_report: state given, but {type(policy).__name__} is not a recurrent policy")
            else:
                policy._predict(obs_tensor, deterministic=deterministic)
    finally:
        policy.set_training_mode(was_training)
    return counter.summary(_batch_size(obs_tensor))
