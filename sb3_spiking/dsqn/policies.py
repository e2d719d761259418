"""DSQN policies: a spiking Q-network (MLP or Nature CNN) inside SB3's DQN policy."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork

from sb3_spiking.common.mixins import SpikingModelMixin
from sb3_spiking.common.value_networks import (
    SpikingValuePolicyMixin,
    init_spiking_value_network,
    value_policy_variants,
)


class SpikingQNetwork(SpikingModelMixin, QNetwork):
    """Q-network whose body is spiking; ``forward`` returns Q-values ``[B, n_actions]``.

    - Vector (or Dict, via SB3's ``CombinedExtractor``) observations: a
      :class:`~sb3_spiking.snn.SpikingMLP` over the features, hidden widths ``net_arch``.
    - Images (``ImageInput`` extractor): a :class:`~sb3_spiking.snn.SpikingNatureCNN` on the
      pixels, with fc layers ``[features_dim, *net_arch]`` (Nature DQN: ``[512]``).

    The Q-values are the decoder's output: by default the membrane potential of non-spiking
    output neurons, max over time (Chen et al.); ``decoder="rate"`` is Liu et al.'s readout.
    Parameters as SB3's ``QNetwork`` (``net_arch``, ``activation_fn``, ``normalize_images`` as
    keywords) plus ``spiking_options``; see
    :func:`~sb3_spiking.common.value_networks.init_spiking_value_network`.
    """

    def __init__(self, observation_space: spaces.Space, action_space: spaces.Discrete, **kwargs: Any) -> None:
        # kwargs: features_extractor, features_dim, net_arch, activation_fn, normalize_images,
        # spiking_options (see init_spiking_value_network).
        self.q_net = init_spiking_value_network(self, int(action_space.n), observation_space, action_space, **kwargs)


class SpikingDQNPolicy(SpikingValuePolicyMixin, DQNPolicy):
    """DQN policy whose Q-network (and target network) is spiking.

    Takes SB3's ``DQNPolicy`` parameters plus the spiking options of docs/guide/spiking_options.md.
    ``spiking=False`` gives SB3's ANN policy (with the Nature CNN for ``CnnPolicy``), for
    side-by-side runs. ``spiking_critic`` does not apply: the Q-network is the spiking network.
    """

    training_mode_parts = ("q_net",)
    algorithm_name = "DSQN"
    value_network_name = "Q-network"

    def _numpy_actions(self, out: np.ndarray, vectorized: bool) -> np.ndarray:
        actions = out.argmax(axis=1).reshape(-1)
        return actions if vectorized else actions.squeeze(axis=0)

    def make_q_net(self) -> QNetwork:
        if not self.spiking:
            return super().make_q_net()
        return self._make_spiking_value_net(SpikingQNetwork)


MlpPolicy, CnnPolicy, MultiInputPolicy = value_policy_variants(SpikingDQNPolicy)
