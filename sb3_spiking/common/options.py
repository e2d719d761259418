"""Spiking options as SB3 policies take them: the engine's vocabulary plus two RL-level switches.

- ``spiking_critic``: make the critic / value network spiking too (default False: ANN critic);
- ``spiking``: ``False`` gives the ANN twin of a class (same algorithm, plain SB3 networks).

Also the input bounds the rate and population encoders are placed with. The mixins that parse,
store and save these options with a policy or an algorithm are in :mod:`sb3_spiking.common.mixins`
(they were defined here; their names stay importable from this module).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.preprocessing import get_flattened_obs_dim, is_image_space
from stable_baselines3.common.torch_layers import FlattenExtractor

from sb3_spiking.snn.options import SpikingOptions

RL_KEYS = ("spiking_critic", "spiking")
SPIKING_KEYS = SpikingOptions.field_names() + RL_KEYS


def _constructor_parameters(options: SpikingOptions, spiking: bool, spiking_critic: bool) -> dict[str, Any]:
    return {**options.to_dict(), "spiking": spiking, "spiking_critic": spiking_critic}


def flat_feature_bounds(
    observation_space: spaces.Space, features_extractor: object, normalize_images: bool = True
) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """Bounds of the features a ``FlattenExtractor`` produces (after SB3's preprocessing), or
    ``(None, None)`` when they are unknown (CNN or combined extractors).

    Used by the rate and population encoders to place their ranges; ``inf`` marks an unbounded
    dimension.
    """
    if type(features_extractor) is not FlattenExtractor:
        return None, None
    if isinstance(observation_space, spaces.Box):
        if is_image_space(observation_space) and normalize_images:
            n = int(np.prod(observation_space.shape))
            return np.zeros(n, dtype=np.float32), np.ones(n, dtype=np.float32)
        return (
            observation_space.low.astype(np.float32).flatten(),
            observation_space.high.astype(np.float32).flatten(),
        )
    if isinstance(observation_space, (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)):
        n = get_flattened_obs_dim(observation_space)  # one-hot / binary features
        return np.zeros(n, dtype=np.float32), np.ones(n, dtype=np.float32)
    return None, None


def state_action_bounds(
    observation_space: spaces.Space,
    features_extractor: object,
    features_dim: int,
    action_dim: int,
    normalize_images: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``concat(features, scaled action)``, the input of a spiking critic or a
    perturbation actor: the features' bounds (``inf`` where unknown) and [-1, 1] for the action."""
    low, high = flat_feature_bounds(observation_space, features_extractor, normalize_images)
    if low is None:
        low, high = np.full(features_dim, -np.inf, np.float32), np.full(features_dim, np.inf, np.float32)
    return (
        np.concatenate([low, -np.ones(action_dim, np.float32)]),
        np.concatenate([high, np.ones(action_dim, np.float32)]),
    )


#: Names that moved to :mod:`sb3_spiking.common.mixins` (old imports from here keep working).
_MOVED_TO_MIXINS = frozenset(
    (
        "SpikingPolicyMixin",
        "SpikingActorCriticNetworksMixin",
        "SpikingModelMixin",
        "store_resolved_policy_kwargs",
        "sb3_policy_aliases",
        "with_features_extractor",
        "make_env_checked",
        "SpikingAlgorithmMixin",
        "match_stored_policy_kwargs",
        "_stored_data",
    )
)


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_MIXINS:
        from sb3_spiking.common import mixins

        return getattr(mixins, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
