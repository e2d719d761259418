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


class SpikingActor(SpikingModelMixin, Actor):
    """Deterministic spiking actor: features -> :class:`~sb3_spiking.snn.SpikingMLP` -> tanh.

    The decoder output plays the role of the ANN actor's last linear layer; ``tanh`` squashes it
    into [-1, 1] as in SB3 (``squash_output=True``), and SB3 rescales to the action bounds.

    :param spiking_options: T, coding and neuron options (see the README's option table).
    Other parameters as SB3's TD3 ``Actor`` (``activation_fn`` is unused by the spiking layers).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: nn.Module,
        features_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        spiking_options: SpikingOptions | None = None,
    ) -> None:
        # Skip Actor.__init__: it only builds the ANN ``mu`` that this class replaces (building it
        # anyway would also consume RNG draws and shift seeded runs).
        BasePolicy.__init__(
            self,
            observation_space,
            action_space,
            features_extractor=features_extractor,
            normalize_images=normalize_images,
            squash_output=True,
        )
        self.net_arch = net_arch
        self.features_dim = features_dim
        self.activation_fn = activation_fn
        self.spiking_options = spiking_options or SpikingOptions()
        low, high = flat_feature_bounds(observation_space, features_extractor, normalize_images)
        body = SpikingMLP(features_dim, get_action_dim(action_space), net_arch, self.spiking_options, low, high)
        self.mu = nn.Sequential(body, nn.Tanh())


class SpikingContinuousCritic(ContinuousCritic):
    """Q-networks ``Q(s, a)`` that are spiking MLPs over ``concat(features, action)``.

    The scaled action lies in [-1, 1]; the rate/population encoders use that range.
    Other parameters as SB3's ``ContinuousCritic``.
    """

    def __init__(
        self,
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
        # Skip ContinuousCritic.__init__ (it builds the ANN Q-networks); reuse its forward.
        BaseModel.__init__(
            self, observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.share_features_extractor = share_features_extractor
        self.n_critics = n_critics
        self.spiking_options = spiking_options or SpikingOptions()
        add_spiking_q_networks(self, n_critics, 1, net_arch, features_dim, normalize_images)


def add_spiking_q_networks(
    critic: BaseModel, n_critics: int, out_features: int, net_arch: list[int], features_dim: int, normalize_images: bool
) -> None:
    """Give ``critic`` ``n_critics`` spiking MLPs ``concat(features, action) -> out_features``
    (submodules ``qf0``, ``qf1``, ..., listed in ``critic.q_networks`` as SB3's critics do): one
    output for a Q-value (TD3/SAC), ``n_quantiles`` for TQC's quantile critics. The encoders get the
    features' bounds where known and [-1, 1] for the scaled action."""
    action_dim = get_action_dim(critic.action_space)
    low, high = state_action_bounds(
        critic.observation_space, critic.features_extractor, features_dim, action_dim, normalize_images
    )
    critic.q_networks = []
    for idx in range(n_critics):
        q_net = SpikingMLP(features_dim + action_dim, out_features, net_arch, critic.spiking_options, low, high)
        critic.add_module(f"qf{idx}", q_net)
        critic.q_networks.append(q_net)


class SpikingTD3Policy(SpikingActorCriticNetworksMixin, TD3Policy):
    """TD3/DDPG policy with a spiking actor (direct encoder, membrane decoder by default) and ANN critics.

    Takes SB3's ``TD3Policy`` parameters plus the spiking options of the README table
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
