from sb3_spiking.bcq.bcq import BCQ, SpikingBCQ
from sb3_spiking.bcq.policies import VAE, BCQPolicy, MlpPolicy, PerturbationActor

__all__ = ["BCQ", "VAE", "BCQPolicy", "MlpPolicy", "PerturbationActor", "SpikingBCQ"]
