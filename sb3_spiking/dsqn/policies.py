"""DSQN policies: a spiking Q-network (MLP or Nature CNN) inside SB3's DQN policy."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
)
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn

from sb3_spiking.common.mixins import SpikingModelMixin, with_features_extractor
from sb3_spiking.common.torch_layers import ImageInput
from sb3_spiking.common.value_networks import (
    SpikingValuePolicyMixin,
    spiking_value_body,
)
from sb3_spiking.snn import SpikingOptions


class SpikingQNetwork(SpikingModelMixin, QNetwork):
    """Q-network whose body is spiking; ``forward`` returns Q-values ``[B, n_actions]``.

    - Vector (or Dict, via SB3's ``CombinedExtractor``) observations: a
      :class:`~sb3_spiking.snn.SpikingMLP` over the features, hidden widths ``net_arch``.
    - Images (``ImageInput`` extractor): a :class:`~sb3_spiking.snn.SpikingNatureCNN` on the
      pixels, with fc layers ``[features_dim, *net_arch]`` (Nature DQN: ``[512]``).

    The Q-values are the decoder's output: by default the membrane potential of non-spiking
    output neurons, max over time (Chen et al.); ``decoder="rate"`` is Liu et al.'s readout.
    Other parameters as SB3's ``QNetwork``.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        spiking_options: SpikingOptions | None = None,
    ) -> None:
        # Skip QNetwork.__init__: it builds the ANN q_net this class replaces.
        BasePolicy.__init__(
            self, observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.net_arch = [64, 64] if net_arch is None else list(net_arch)
        self.activation_fn = activation_fn
        self.features_dim = features_dim
        self.spiking_options = spiking_options or SpikingOptions()
        self.q_net = spiking_value_body(
            observation_space,
            features_extractor,
            features_dim,
            int(action_space.n),
            self.net_arch,
            self.spiking_options,
            normalize_images,
        )


class SpikingDQNPolicy(SpikingValuePolicyMixin, DQNPolicy):
    """DQN policy whose Q-network (and target network) is spiking.

    Takes SB3's ``DQNPolicy`` parameters plus the spiking options of the README table.
    ``spiking=False`` gives SB3's ANN policy (with the Nature CNN for ``CnnPolicy``), for
    side-by-side runs. ``spiking_critic`` does not apply: the Q-network is the spiking network.
    """

    training_mode_parts = ("q_net",)
    algorithm_name = "DSQN"
    value_network_name = "Q-network"

    def _numpy_net(self, deterministic: bool) -> tuple[Any, Any]:
        return self.q_net.features_extractor, self.q_net.q_net

    def _numpy_actions(self, out: np.ndarray, vectorized: bool) -> np.ndarray:
        actions = out.argmax(axis=1).reshape(-1)
        return actions if vectorized else actions.squeeze(axis=0)

    def make_q_net(self) -> QNetwork:
        if not self.spiking:
            return super().make_q_net()
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return SpikingQNetwork(**net_args, spiking_options=self.spiking_options).to(self.device)


MlpPolicy = SpikingDQNPolicy


CnnPolicy = with_features_extractor(
    SpikingDQNPolicy,
    ImageInput,
    "CnnPolicy",
    """:class:`SpikingDQNPolicy` with the spiking Nature CNN on the pixels (direct input: the first
    convolution runs once per forward). ``features_extractor_kwargs=dict(features_dim=512)`` sets
    the fc1 width; ``net_arch`` adds spiking fc layers after it (default none).""",
)


MultiInputPolicy = with_features_extractor(
    SpikingDQNPolicy,
    CombinedExtractor,
    "MultiInputPolicy",
    """:class:`SpikingDQNPolicy` for Dict observations: SB3's ``CombinedExtractor`` (an ANN CNN for
    image keys, flatten for the others) feeding a spiking MLP.""",
)
