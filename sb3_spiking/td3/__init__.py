from sb3_spiking.td3.policies import (
    CnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    SpikingActor,
    SpikingTD3Policy,
)
from sb3_spiking.td3.td3 import SpikingTD3

__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy", "SpikingActor", "SpikingTD3", "SpikingTD3Policy"]
