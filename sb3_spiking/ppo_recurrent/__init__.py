from sb3_spiking.ppo_recurrent.policies import (
    SpikingRecurrentActorCriticCnnPolicy,
    SpikingRecurrentActorCriticPolicy,
    SpikingRecurrentMultiInputActorCriticPolicy,
)
from sb3_spiking.ppo_recurrent.ppo_recurrent import SpikingRecurrentPPO

__all__ = [
    "SpikingRecurrentActorCriticCnnPolicy",
    "SpikingRecurrentActorCriticPolicy",
    "SpikingRecurrentMultiInputActorCriticPolicy",
    "SpikingRecurrentPPO",
]
