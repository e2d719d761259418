"""SpikingQRDQN policies: a spiking quantile network (MLP or Nature CNN) inside sb3-contrib's
QR-DQN policy."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.qrdqn.policies import QRDQNPolicy, QuantileNetwork
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from sb3_spiking.common.mixins import SpikingModelMixin
from sb3_spiking.common.value_networks import (
    SpikingValuePolicyMixin,
    init_spiking_value_network,
    value_policy_variants,
)
from sb3_spiking.snn.validation import check_int


class SpikingQuantileNetwork(SpikingModelMixin, QuantileNetwork):
    """Quantile network whose body is spiking; ``forward`` returns ``[B, n_quantiles, n_actions]``.

    One spiking body (see :func:`~sb3_spiking.common.value_networks.spiking_value_body`: a
    :class:`~sb3_spiking.snn.SpikingMLP` for vector and Dict observations, the
    :class:`~sb3_spiking.snn.SpikingNatureCNN` for images) whose decoder outputs all
    ``n_actions * n_quantiles`` values at once, laid out as sb3-contrib's ANN (``view(-1,
    n_quantiles, n_actions)``). With the default ``decoder="membrane"`` each quantile is the
    membrane potential of a non-spiking output neuron (max over time), as DSQN's Q-values.
    Other parameters (``net_arch``, ``activation_fn``, ``normalize_images``, ``spiking_options``)
    as sb3-contrib's ``QuantileNetwork``; see
    :func:`~sb3_spiking.common.value_networks.init_spiking_value_network`.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        n_quantiles: int = 200,
        **kwargs: Any,
    ) -> None:
        # kwargs: net_arch, activation_fn, normalize_images, spiking_options (see init_spiking_value_network).
        self.quantile_net = init_spiking_value_network(
            self,
            int(action_space.n) * n_quantiles,
            observation_space,
            action_space,
            features_extractor,
            features_dim,
            **kwargs,
        )
        self.n_quantiles = n_quantiles


class SpikingQRDQNPolicy(SpikingValuePolicyMixin, QRDQNPolicy):
    """QR-DQN policy whose quantile network (and its target, a full copy) is spiking.

    Takes sb3-contrib's ``QRDQNPolicy`` parameters (``n_quantiles``, ``net_arch``, ...) plus the
    spiking options of docs/guide/spiking_options.md. ``spiking=False`` gives sb3-contrib's ANN policy (with
    the Nature CNN for ``CnnPolicy``), for side-by-side runs. ``spiking_critic`` does not apply:
    the quantile network is the spiking network.
    """

    training_mode_parts = ("quantile_net",)
    algorithm_name = "SpikingQRDQN"
    value_network_name = "quantile network"

    def _numpy_actions(self, out: np.ndarray, vectorized: bool) -> np.ndarray:
        # The tail of QuantileNetwork._predict, in torch so that ties break as there.
        quantiles = th.from_numpy(out).view(-1, self.n_quantiles, int(self.action_space.n))
        actions = quantiles.mean(dim=1).argmax(dim=1).reshape(-1).numpy()
        return actions if vectorized else actions.squeeze(axis=0)

    def _sb3_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        arguments = super()._sb3_arguments(arguments)
        arguments["n_quantiles"] = check_int("n_quantiles", arguments["n_quantiles"])  # sb3-contrib would fail in a reshape
        return arguments

    def make_quantile_net(self) -> QuantileNetwork:
        if not self.spiking:
            return super().make_quantile_net()
        return self._make_spiking_value_net(SpikingQuantileNetwork)


MlpPolicy, CnnPolicy, MultiInputPolicy = value_policy_variants(SpikingQRDQNPolicy)
