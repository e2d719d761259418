from sb3_spiking.qrdqn.policies import (
    CnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    SpikingQRDQNPolicy,
    SpikingQuantileNetwork,
)
from sb3_spiking.qrdqn.qrdqn import SpikingQRDQN

__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy", "SpikingQRDQN", "SpikingQRDQNPolicy", "SpikingQuantileNetwork"]
