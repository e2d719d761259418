from sb3_spiking.dsqn.dsqn import DSQN
from sb3_spiking.dsqn.policies import (
    CnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    SpikingDQNPolicy,
    SpikingQNetwork,
)

__all__ = ["DSQN", "CnnPolicy", "MlpPolicy", "MultiInputPolicy", "SpikingDQNPolicy", "SpikingQNetwork"]
