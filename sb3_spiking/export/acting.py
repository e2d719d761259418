"""Which network acts in a trained model, and what ``predict`` does around it.

:func:`_acting_network` finds, for each supported policy, the spiking body whose output the action
is computed from, the preprocessing of the observation before it and the postprocessing of its
output after it: the pieces :func:`~sb3_spiking.export.to_nir` turns into a NIR graph and its
metadata.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.torch_layers import FlattenExtractor

from sb3_spiking.snn.network import SpikingNetwork

#: What :func:`~sb3_spiking.export.to_nir` exports (named in its errors).
SUPPORTED = (
    "the actor of SpikingTD3 / SpikingDDPG",
    "the actor of SpikingSAC (its deterministic mean)",
    "the Q-network of DSQN (MlpPolicy and the spiking CnnPolicy) and of converted DQNs (convert_dqn)",
    "the actor of SpikingActorCriticPolicy (SpikingPPO, SpikingA2C, PPO/A2C with that policy)",
)


@dataclass
class _Acting:
    """The network that acts and what surrounds it in ``predict``."""

    algorithm: str
    network: str
    body: SpikingNetwork
    preprocess: dict[str, Any]
    postprocess: dict[str, Any]
    #: output rows of the body that the action uses (SAC: the mean half), None for all
    rows: slice | None = None
    notes: list[str] = field(default_factory=list)


def _unsupported(what: str) -> ValueError:
    return ValueError(f"{what}. NIR export supports: " + "; ".join(SUPPORTED))


def _box_preprocess(policy: Any, features_extractor: Any, image_network: bool) -> dict[str, Any]:
    space = policy.observation_space
    if not isinstance(space, spaces.Box):
        raise _unsupported(
            f"Observation space {space} is not exported (only Box observations: the graph's input is the "
            "observation vector or image)"
        )
    image = is_image_space(space, check_channels=False)
    scale = 1.0 / 255.0 if image and policy.normalize_images else 1.0
    return {
        "observation_shape": np.asarray(space.shape, dtype=np.int64),
        "dtype": "float32",
        "scale": scale,
        "flatten": not image_network,
        "description": (
            "observation as float32 (in the observation space's layout; channel-first images), "
            + ("multiplied by 'scale', " if scale != 1.0 else "")
            + ("then flattened to the input node's shape" if not image_network else "kept as (C, H, W)")
            + "; the same input is presented at every one of the num_steps steps (constant input current)"
        ),
    }


def _box_postprocess(action_space: spaces.Box, squash: bool) -> dict[str, Any]:
    post = {
        "type": "box",
        "action_shape": np.asarray(action_space.shape, dtype=np.int64),
        "low": np.asarray(action_space.low, dtype=np.float32).reshape(-1),
        "high": np.asarray(action_space.high, dtype=np.float32).reshape(-1),
        "squash": "tanh" if squash else "none",
    }
    if squash:
        post["description"] = "action = low + 0.5 * (tanh(output) + 1) * (high - low) (SB3's unscale_action)"
    else:
        post["description"] = "action = clip(output, low, high)"
    return post


def _require_extractor(features_extractor: Any, allowed: tuple[type, ...], who: str) -> None:
    if type(features_extractor) not in allowed:
        raise _unsupported(
            f"{who} reads its observations through {type(features_extractor).__name__}, an ANN features "
            "extractor that is no part of the spiking network (export takes FlattenExtractor, i.e. MlpPolicy, "
            "and DSQN's spiking CnnPolicy)"
        )


def _acting_network(model: Any) -> _Acting:
    """Find the network that acts in ``model`` (an SB3 algorithm or a policy)."""
    from sb3_spiking.common.policies import SpikingActorCriticMixin
    from sb3_spiking.common.torch_layers import ImageInput
    from sb3_spiking.dsqn.policies import SpikingDQNPolicy
    from sb3_spiking.sac.policies import SpikingSACPolicy
    from sb3_spiking.td3.policies import SpikingTD3Policy

    policy = getattr(model, "policy", model)
    algorithm = type(model).__name__
    known = (SpikingTD3Policy, SpikingSACPolicy, SpikingDQNPolicy, SpikingActorCriticMixin)
    if not isinstance(policy, known):
        raise _unsupported(f"{algorithm} (policy {type(policy).__name__}) has no spiking network to export")
    if not policy.spiking:
        raise _unsupported(
            f"This {algorithm} is the ANN twin (policy_kwargs spiking=False): it has no spiking network to export"
        )
    if isinstance(policy, SpikingTD3Policy):
        actor = policy.actor
        _require_extractor(actor.features_extractor, (FlattenExtractor,), "The actor")
        return _Acting(
            algorithm,
            "actor",
            actor.mu[0],
            _box_preprocess(policy, actor.features_extractor, False),
            _box_postprocess(policy.action_space, squash=True),
        )
    if isinstance(policy, SpikingSACPolicy):
        actor = policy.actor
        _require_extractor(actor.features_extractor, (FlattenExtractor,), "The actor")
        n = int(np.prod(policy.action_space.shape))
        return _Acting(
            algorithm,
            "actor mean (deterministic action; the log-std outputs are left out)",
            actor.body,
            _box_preprocess(policy, actor.features_extractor, False),
            _box_postprocess(policy.action_space, squash=True),
            rows=slice(0, n),
        )
    if isinstance(policy, SpikingDQNPolicy):
        q_net = policy.q_net
        _require_extractor(q_net.features_extractor, (FlattenExtractor, ImageInput), "The Q-network")
        image = isinstance(q_net.features_extractor, ImageInput)
        return _Acting(
            algorithm,
            "Q-network",
            q_net.q_net,
            _box_preprocess(policy, q_net.features_extractor, image),
            {"type": "argmax", "description": "action = argmax over the outputs (Q-values)"},
        )
    # SpikingActorCriticPolicy (and its CNN/MultiInput/maskable variants)
    _require_extractor(policy.pi_features_extractor, (FlattenExtractor,), "The actor")
    space = policy.action_space
    notes = []
    if isinstance(space, spaces.Box):
        if policy.squash_output:
            raise _unsupported("An actor-critic policy with squash_output=True (gSDE) is not exported")
        post = _box_postprocess(space, squash=False)
    elif isinstance(space, spaces.Discrete):
        post = {"type": "argmax", "description": "action = argmax over the outputs (logits)"}
    elif isinstance(space, spaces.MultiDiscrete):
        post = {
            "type": "argmax_segments",
            "nvec": np.asarray(space.nvec, dtype=np.int64).reshape(-1),
            "description": "action[i] = argmax over the i-th segment of nvec[i] outputs (logits)",
        }
    elif isinstance(space, spaces.MultiBinary):
        post = {
            "type": "threshold",
            "action_shape": np.asarray(space.shape, dtype=np.int64),
            "description": "action = 1 where the output (logit) > 0, else 0",
        }
    else:
        raise _unsupported(f"Action space {space} is not exported")
    if type(policy).__name__.startswith("SpikingMaskable"):
        notes.append("action masks are applied by the caller: the graph outputs unmasked logits")
    return _Acting(
        algorithm,
        "actor",
        policy.mlp_extractor.policy_net,
        _box_preprocess(policy, policy.pi_features_extractor, False),
        post,
        notes=notes,
    )
