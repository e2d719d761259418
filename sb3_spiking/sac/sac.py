"""SpikingSAC: SAC with a spiking actor."""

from __future__ import annotations

from typing import ClassVar

from stable_baselines3 import SAC
from stable_baselines3.common.policies import BasePolicy

from sb3_spiking.common.mixins import SpikingAlgorithmMixin, sb3_policy_aliases
from sb3_spiking.sac.policies import (
    CnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    SpikingSACPolicy,
)


class SpikingSAC(SpikingAlgorithmMixin, SAC):
    """SAC (Haarnoja et al., 2018) whose actor is a spiking network producing the Gaussian mean and
    log-std through its decoder; the twin critics are ANNs unless ``spiking_critic=True``.

    Same parameters as :class:`stable_baselines3.SAC`; spiking options go in ``policy_kwargs``.
    ``use_sde=True`` (gSDE) draws its noise from the actor's last-layer firing rates.
    ``policy_kwargs=dict(spiking=False)`` runs SAC.

    :param policy: ``"MlpPolicy"``, ``"CnnPolicy"``, ``"MultiInputPolicy"`` or a policy class.
    :param env: environment or its id; its action space must be ``Box``.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = sb3_policy_aliases(MlpPolicy, CnnPolicy, MultiInputPolicy)
    policy: SpikingSACPolicy
    algorithm_policy_kwargs = ("use_sde",)
