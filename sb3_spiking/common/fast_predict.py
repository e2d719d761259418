"""``predict`` without tensors for small vector-observation batches on the CPU.

SB3's ``BasePolicy.predict`` wraps every call in generic work: ``obs_to_tensor`` (copy, shape
checks, ``torch.as_tensor``), ``torch.no_grad``, module calls, preprocessing, ``.cpu().numpy()``.
At batch 1 that is most of an ANN decision, and the spiking body already runs in NumPy there
(``SpikingMLP._numpy_forward``). The spiking policies therefore take a shorter route when it
gives exactly the same answer: a NumPy ``Box`` observation (not an image) of the observation
space's shape, or a batch of at most ``NUMPY_MAX_BATCH`` of them, a plain ``FlattenExtractor``,
a CPU network ready for NumPy inference. Everything else (Dict or image observations, large
batches, CUDA, stochastic actions of SAC/PPO, the ANN twin) goes through SB3's ``predict``.

Measured at batch 1 on the 2-core CI machine (SpikingTD3, [256, 256], T=5): see docs/guide/performance.md
and ``benchmarks/numpy_route.py``; tests/test_fast_predict.py checks that both routes return identical actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import FlattenExtractor

from sb3_spiking.snn.network import NUMPY_MAX_BATCH, SpikingMLP


def numpy_observation(policy: Any, features_extractor: Any, observation: Any) -> tuple[np.ndarray, bool] | None:
    """``(float32 [n, features], vectorized)`` as SB3 would preprocess ``observation``, or None
    when the fast route does not apply."""
    space = policy.observation_space
    if (
        type(observation) is not np.ndarray
        or type(space) is not spaces.Box
        or type(features_extractor) is not FlattenExtractor
    ):
        return None
    shape = observation.shape
    if shape == space.shape:
        vectorized, n = False, 1
    elif shape[1:] == space.shape and 0 < shape[0] <= NUMPY_MAX_BATCH:
        vectorized, n = True, shape[0]
    else:
        return None  # SB3 raises its usual shape error, or handles the large batch
    if is_image_space(space, check_channels=False):  # SB3 scales and may transpose images
        return None
    obs = observation.reshape(n, -1)
    if obs.dtype != np.float32:
        obs = obs.astype(np.float32)  # what preprocess_obs's .float() does
    return obs, vectorized


def ready(net: Any, batch: int) -> bool:
    return isinstance(net, SpikingMLP) and net.numpy_ready(batch)


def finish_box_actions(policy: Any, actions: np.ndarray, vectorized: bool) -> np.ndarray:
    """The tail of SB3's ``predict`` for ``Box`` actions (unscale or clip, un-batch)."""
    actions = actions.reshape((-1, *policy.action_space.shape))
    if policy.squash_output:
        actions = policy.unscale_action(actions)
    else:
        actions = np.clip(actions, policy.action_space.low, policy.action_space.high)
    return actions if vectorized else actions.squeeze(axis=0)


def tanh(x: np.ndarray) -> np.ndarray:
    """torch's tanh (bit-identical to the ``nn.Tanh`` of the torch route), on a NumPy array."""
    return torch.from_numpy(x).tanh_().numpy()
