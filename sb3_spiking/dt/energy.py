"""Energy of a decision transformer's decisions, measured on full context windows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch as th

from sb3_spiking.snn.accounting import OpCounter
from sb3_spiking.snn.validation import check_int

if TYPE_CHECKING:
    from sb3_spiking.dt.dt import SpikingDecisionTransformer


def context_energy_report(model: SpikingDecisionTransformer, n_windows: int = 256, seed: int = 0) -> dict[str, Any]:
    """``energy_report`` for full context windows: spikes, operations and energy of one decision
    as ``predict`` makes it mid-episode (``context_len`` steps of history from the dataset,
    plus the reward model that decrements the return-to-go), per decision.

    :param n_windows: windows drawn from the dataset (ending at steps with a full history
        where the dataset has such steps).
    :param seed: seed of the draw.
    """
    if model._data is None:
        model._load_data()
    data, k = model._data, model.context_len
    assert data is not None
    rng = np.random.default_rng(seed)
    full = np.flatnonzero(data.timesteps >= k - 1)
    ends = rng.choice(full if len(full) else np.arange(data.size), size=check_int("n_windows", n_windows))
    idx, valid = data.window_indices(ends, np.minimum(data.timesteps[ends] + 1, k), k)
    b = model._batch(idx, valid)
    policy = model.policy
    was_training = policy.training
    policy.set_training_mode(False)
    try:
        with OpCounter(policy) as counter, th.no_grad():
            policy.context_forward(
                b["observations"], b["actions"], b["returns_to_go"], b["timesteps"], None if valid.all() else b["valid"], True
            )
            policy.predict_reward(b["observations"][:, -2], b["actions"][:, -2], b["observations"][:, -1])
    finally:
        policy.set_training_mode(was_training)
    return counter.summary(len(ends))
