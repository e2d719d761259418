"""SpikingPPO: SB3's PPO whose policy aliases point at the spiking actor-critic policies."""

from __future__ import annotations

from stable_baselines3 import PPO

from sb3_spiking.common.mixins import SpikingAlgorithmMixin
from sb3_spiking.common.policies import SpikingOnPolicyMixin


class SpikingPPO(SpikingOnPolicyMixin, SpikingAlgorithmMixin, PPO):
    """SB3's PPO with a spiking actor: the same as ``PPO(SpikingActorCriticPolicy, ...)``, but
    ``"MlpPolicy"``, ``"CnnPolicy"`` and ``"MultiInputPolicy"`` name the spiking policies (so
    RL Zoo configs can use the usual policy names).

    Same parameters as :class:`stable_baselines3.PPO`; spiking options go in ``policy_kwargs``.
    Like SB3 for its ``MlpPolicy``, warns when the MLP policy is asked to run on a GPU.
    """
