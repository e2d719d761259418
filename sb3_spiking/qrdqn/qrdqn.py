"""SpikingQRDQN: quantile-regression DQN with a spiking quantile network (sb3-contrib QRDQN)."""

from __future__ import annotations

from typing import ClassVar

from gymnasium import spaces
from sb3_contrib import QRDQN
from stable_baselines3.common.policies import BasePolicy

from sb3_spiking.common.mixins import SpikingAlgorithmMixin, sb3_policy_aliases
from sb3_spiking.qrdqn.policies import (
    CnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    SpikingQRDQNPolicy,
)


class SpikingQRDQN(SpikingAlgorithmMixin, QRDQN):
    """QR-DQN (Dabney et al., 2018) whose quantile network is spiking: sb3-contrib's ``QRDQN``
    with every quantile of every action read out by the shared ``decoder`` option (default
    ``"membrane"``: membrane potentials of non-spiking output neurons, max over time, as DSQN's
    Q-values). The target network is a full copy of the spiking network (neuron parameters
    included). ``policy_kwargs=dict(spiking=False)`` runs plain QR-DQN.

    Same parameters as :class:`sb3_contrib.QRDQN`; spiking options go in ``policy_kwargs`` next to
    ``n_quantiles`` and ``net_arch``. Policy names (``"CnnPolicy"``: the spiking Nature CNN on
    uint8 images) and the ``Discrete`` action space as :class:`~sb3_spiking.DSQN`.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = sb3_policy_aliases(MlpPolicy, CnnPolicy, MultiInputPolicy)
    spiking_action_spaces = (spaces.Discrete,)
    policy: SpikingQRDQNPolicy
    algorithm_policy_kwargs = ("optimizer_class", "optimizer_kwargs")  # QRDQN's Adam eps=0.01/batch_size
