"""SpikingA2C: SB3's A2C whose policy aliases point at the spiking actor-critic policies."""

from __future__ import annotations

from stable_baselines3 import A2C

from sb3_spiking.common.mixins import SpikingAlgorithmMixin
from sb3_spiking.common.policies import SpikingOnPolicyMixin


class SpikingA2C(SpikingOnPolicyMixin, SpikingAlgorithmMixin, A2C):
    """SB3's A2C with a spiking actor: the same as ``A2C(SpikingActorCriticPolicy, ...)``, but
    ``"MlpPolicy"``, ``"CnnPolicy"`` and ``"MultiInputPolicy"`` name the spiking policies (so
    RL Zoo configs can use the usual policy names).

    Same parameters as :class:`stable_baselines3.A2C`; spiking options go in ``policy_kwargs``.
    Like SB3 for its ``MlpPolicy``, warns when the MLP policy is asked to run on a GPU.
    """

    algorithm_policy_kwargs = ("optimizer_class", "optimizer_kwargs")  # use_rms_prop=True
