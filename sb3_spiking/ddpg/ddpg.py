"""SpikingDDPG: DDPG with a spiking actor."""

from __future__ import annotations

from typing import ClassVar

from stable_baselines3 import DDPG
from stable_baselines3.common.policies import BasePolicy

from sb3_spiking.common.mixins import SpikingAlgorithmMixin, sb3_policy_aliases
from sb3_spiking.td3.policies import CnnPolicy, MlpPolicy, MultiInputPolicy, SpikingTD3Policy
from sb3_spiking.td3.proxy import ProxyTargetMixin


class SpikingDDPG(ProxyTargetMixin, SpikingAlgorithmMixin, DDPG):
    """DDPG (Lillicrap et al., 2016) whose actor is a spiking network.

    SB3 treats DDPG as TD3 with one critic, no target smoothing and no policy delay; this class
    does the same with :class:`~sb3_spiking.td3.policies.SpikingTD3Policy`. Same parameters as
    :class:`stable_baselines3.DDPG`; spiking options go in ``policy_kwargs``; ``proxy_target`` and
    ``proxy_target_kwargs`` as in :class:`~sb3_spiking.td3.SpikingTD3`.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = sb3_policy_aliases(MlpPolicy, CnnPolicy, MultiInputPolicy)
    policy: SpikingTD3Policy
    algorithm_policy_kwargs = ("n_critics",)
