"""SpikingTD3: TD3 with a spiking actor."""

from __future__ import annotations

from typing import ClassVar

from stable_baselines3 import TD3
from stable_baselines3.common.policies import BasePolicy

from sb3_spiking.common.options import SpikingAlgorithmMixin
from sb3_spiking.td3.policies import CnnPolicy, MlpPolicy, MultiInputPolicy, SpikingTD3Policy


class SpikingTD3(SpikingAlgorithmMixin, TD3):
    """TD3 (Fujimoto et al., 2018) whose actor is a spiking network.

    Same parameters as :class:`stable_baselines3.TD3`; spiking options go in ``policy_kwargs``
    (see the README table), e.g. ``policy_kwargs=dict(num_steps=5, encoder="population")``.
    ``policy_kwargs=dict(spiking=False)`` runs plain TD3 through the same class.

    :param policy: ``"MlpPolicy"``, ``"CnnPolicy"``, ``"MultiInputPolicy"`` or a policy class.
    :param env: environment or its id; its action space must be ``Box``.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": MlpPolicy,
        "CnnPolicy": CnnPolicy,
        "MultiInputPolicy": MultiInputPolicy,
    }
    policy: SpikingTD3Policy
