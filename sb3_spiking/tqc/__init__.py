from sb3_spiking.tqc.policies import (
    CnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    SpikingQuantileCritic,
    SpikingTQCActor,
    SpikingTQCPolicy,
)
from sb3_spiking.tqc.tqc import SpikingTQC

__all__ = [
    "CnnPolicy",
    "MlpPolicy",
    "MultiInputPolicy",
    "SpikingQuantileCritic",
    "SpikingTQC",
    "SpikingTQCActor",
    "SpikingTQCPolicy",
]
