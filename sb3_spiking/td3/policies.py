"""TD3/DDPG policies with a spiking actor (and, on request, spiking critics)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel, BasePolicy, ContinuousCritic
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    NatureCNN,
)
from stable_baselines3.td3.policies import Actor, TD3Policy
from torch import nn

from sb3_spiking.common import fast_predict
from sb3_spiking.common.mixins import SpikingActorCriticNetworksMixin, SpikingModelMixin, with_features_extractor
from sb3_spiking.common.options import flat_feature_bounds, state_action_bounds
from sb3_spiking.snn import SpikingMLP, SpikingOptions


def init_spiking_actor(
    actor: BasePolicy,
    observation_space: spaces.Space,
    action_space: spaces.Box,
    net_arch: list[int],
    features_extractor: nn.Module,
    features_dim: int,
    activation_fn: type[nn.Module] = nn.ReLU,
    normalize_images: bool = True,
    spiking_options: SpikingOptions | None = None,
) -> tuple[Any, Any]:
    """The ``__init__`` that the spiking TD3 and SAC actors share, with SB3's actor parameters.

    ``BasePolicy.__init__`` with ``squash_output=True`` (skipping SB3's ``Actor.__init__``, which
    only builds the ANN layers the spiking actor replaces; building them anyway would also
    consume RNG draws and shift seeded runs), the attributes SB3's actors set, and
    ``spiking_options`` (default options when ``None``). ``activation_fn`` is kept for SB3's
    constructor parameters; the spiking layers do not use it. Returns the features' bounds
    (``low, high``, see :func:`~sb3_spiking.common.options.flat_feature_bounds`) for the caller's
    :class:`~sb3_spiking.snn.SpikingMLP`."""
    BasePolicy.__init__(
        actor,
        observation_space,
        action_space,
        features_extractor=features_extractor,
        normalize_images=normalize_images,
        squash_output=True,
    )
    actor.net_arch = net_arch
    actor.features_dim = features_dim
    actor.activation_fn = activation_fn
    actor.spiking_options = spiking_options or SpikingOptions()
    return flat_feature_bounds(observation_space, features_extractor, normalize_images)


class SpikingActor(SpikingModelMixin, Actor):
    """Deterministic spiking actor: features -> :class:`~sb3_spiking.snn.SpikingMLP` -> tanh.

    The decoder output plays the role of the ANN actor's last linear layer; ``tanh`` squashes it
    into [-1, 1] as in SB3 (``squash_output=True``), and SB3 rescales to the action bounds.

    Parameters as SB3's TD3 ``Actor`` (``net_arch``, ``features_extractor``, ``features_dim``,
    ``activation_fn``, unused by the spiking layers, ``normalize_images``) plus
    ``spiking_options`` (T, coding and neuron options); see :func:`init_spiking_actor`.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Box, **kwargs: Any) -> None:
        low, high = init_spiking_actor(self, observation_space, action_space, **kwargs)
        body = SpikingMLP(self.features_dim, get_action_dim(action_space), self.net_arch, self.spiking_options, low, high)
        self.mu = nn.Sequential(body, nn.Tanh())


def init_spiking_critic(
    critic: BaseModel,
    out_features: int,
    observation_space: spaces.Space,
    action_space: spaces.Box,
    net_arch: list[int],
    features_extractor: BaseFeaturesExtractor,
    features_dim: int,
    activation_fn: type[nn.Module] = nn.ReLU,
    normalize_images: bool = True,
    n_critics: int = 2,
    share_features_extractor: bool = True,
    spiking_options: SpikingOptions | None = None,
) -> None:
    """The ``__init__`` that the spiking critics share (TD3/SAC twin Q-networks, TQC's quantile
    critics), with SB3's ``ContinuousCritic`` parameters.

    ``BaseModel.__init__`` (skipping SB3's, which builds the ANN Q-networks; the critic keeps
    SB3's ``forward``), SB3's attributes, ``spiking_options``, and ``n_critics`` spiking MLPs
    ``concat(features, action) -> out_features`` (submodules ``qf0``, ``qf1``, ..., listed in
    ``critic.q_networks`` as SB3's critics do): one output for a Q-value, ``n_quantiles`` for a
    quantile critic. The encoders get the features' bounds where known and [-1, 1] for the scaled
    action. ``activation_fn`` is not used by the spiking layers."""
    BaseModel.__init__(
        critic, observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
    )
    critic.share_features_extractor = share_features_extractor
    critic.n_critics = n_critics
    critic.spiking_options = spiking_options or SpikingOptions()
    action_dim = get_action_dim(action_space)
    low, high = state_action_bounds(observation_space, features_extractor, features_dim, action_dim, normalize_images)
    critic.q_networks = []
    for idx in range(n_critics):
        q_net = SpikingMLP(features_dim + action_dim, out_features, net_arch, critic.spiking_options, low, high)
        critic.add_module(f"qf{idx}", q_net)
        critic.q_networks.append(q_net)


class SpikingContinuousCritic(ContinuousCritic):
    """Q-networks ``Q(s, a)`` that are spiking MLPs over ``concat(features, action)``.

    The scaled action lies in [-1, 1]; the rate/population encoders use that range.
    Parameters as SB3's ``ContinuousCritic`` plus ``spiking_options``; see
    :func:`init_spiking_critic`.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Box, **kwargs: Any) -> None:
        init_spiking_critic(self, 1, observation_space, action_space, **kwargs)


class SpikingTD3Policy(SpikingActorCriticNetworksMixin, TD3Policy):
    """TD3/DDPG policy with a spiking actor (direct encoder, membrane decoder by default) and ANN critics.

    Takes SB3's ``TD3Policy`` parameters plus the spiking options of docs/guide/spiking_options.md
    (``num_steps``, ``encoder``, ``decoder``, ``membrane_readout``, ``beta``, ``threshold``,
    ``surrogate``, ``learn_beta``, ``learn_threshold``, ``reset_mechanism``, ``detach_reset``,
    ``encoder_kwargs``, ``decoder_kwargs``), ``spiking_critic`` (spiking Q-networks, as in ACSF)
    and ``spiking=False`` (the plain SB3 ANN policy, for side-by-side runs).
    """

    spiking_actor_class = SpikingActor
    spiking_critic_class = SpikingContinuousCritic

    def _numpy_net(self, deterministic: bool) -> tuple[Any, Any]:
        return self.actor.features_extractor, self.actor.mu[0]

    def _numpy_actions(self, out: np.ndarray, vectorized: bool) -> np.ndarray:
        return fast_predict.finish_box_actions(self, fast_predict.tanh(out), vectorized)


MlpPolicy = SpikingTD3Policy


CnnPolicy = with_features_extractor(
    SpikingTD3Policy,
    NatureCNN,
    "CnnPolicy",
    """:class:`SpikingTD3Policy` on top of SB3's (ANN) NatureCNN features extractor.""",
)


MultiInputPolicy = with_features_extractor(
    SpikingTD3Policy,
    CombinedExtractor,
    "MultiInputPolicy",
    """:class:`SpikingTD3Policy` for Dict observations (SB3's CombinedExtractor).""",
)
