"""SpikingTQC: truncated quantile critics with a spiking actor (sb3-contrib TQC)."""

from __future__ import annotations

from typing import ClassVar

from sb3_contrib import TQC
from stable_baselines3.common.policies import BasePolicy

from sb3_spiking.common.mixins import SpikingAlgorithmMixin, sb3_policy_aliases
from sb3_spiking.tqc.policies import (
    CnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    SpikingTQCPolicy,
)


class SpikingTQC(SpikingAlgorithmMixin, TQC):
    """TQC (Kuznetsov et al., 2020) whose actor is a spiking network producing the Gaussian mean
    and log-std through its decoder (as :class:`~sb3_spiking.SpikingSAC`); the quantile critics are
    ANNs unless ``spiking_critic=True`` (each critic then reads its ``n_quantiles`` out through
    the decoder).

    Same parameters as :class:`sb3_contrib.TQC`; spiking options go in ``policy_kwargs`` next to
    ``n_quantiles`` and ``n_critics``. ``use_sde=True``: gSDE as SpikingSAC.
    ``policy_kwargs=dict(spiking=False)`` runs plain TQC.

    :param policy: ``"MlpPolicy"``, ``"CnnPolicy"``, ``"MultiInputPolicy"`` or a policy class.
    :param env: environment or its id; its action space must be ``Box``.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = sb3_policy_aliases(MlpPolicy, CnnPolicy, MultiInputPolicy)
    policy: SpikingTQCPolicy
    algorithm_policy_kwargs = ("use_sde",)
