from sb3_spiking.sac.policies import (
    CnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    SpikingSACActor,
    SpikingSACPolicy,
)
from sb3_spiking.sac.sac import SpikingSAC

__all__ = ["CnnPolicy", "MlpPolicy", "MultiInputPolicy", "SpikingSAC", "SpikingSACActor", "SpikingSACPolicy"]
