"""DSQN: deep spiking Q-networks, as a DQN subclass."""

from __future__ import annotations

from typing import ClassVar

from gymnasium import spaces
from stable_baselines3 import DQN
from stable_baselines3.common.policies import BasePolicy

from sb3_spiking.common.mixins import SpikingAlgorithmMixin, sb3_policy_aliases
from sb3_spiking.dsqn.policies import (
    CnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    SpikingDQNPolicy,
)


class DSQN(SpikingAlgorithmMixin, DQN):
    """Deep spiking Q-network: SB3's DQN (Mnih et al., 2015) with a spiking Q-network.

    Two published readouts through the shared ``decoder`` option: ``"membrane"`` (default; the
    Q-values are the membrane potentials of non-spiking output neurons, max over time; Chen et
    al., "Deep Reinforcement Learning with Spiking Q-learning") and ``"rate"`` (a linear layer on
    the mean fc1 spikes; Liu et al., "Human-Level Control through Directly-Trained Deep Spiking
    Q-Networks", who used T=64). ``policy_kwargs=dict(spiking=False)`` runs plain DQN.

    Same parameters as :class:`stable_baselines3.DQN`; spiking options go in ``policy_kwargs``.

    :param policy: ``"MlpPolicy"``, ``"CnnPolicy"`` (spiking Nature CNN, uint8 images),
        ``"MultiInputPolicy"`` or a policy class.
    :param env: environment or its id; its action space must be ``Discrete``.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = sb3_policy_aliases(MlpPolicy, CnnPolicy, MultiInputPolicy)
    spiking_action_spaces = (spaces.Discrete,)
    policy: SpikingDQNPolicy
