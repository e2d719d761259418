from sb3_spiking.bcq.bcq import BCQ, SpikingBCQ
from sb3_spiking.bcq.policies import BCQPolicy, MlpPolicy, PerturbationActor, VAE

__all__ = ["BCQ", "BCQPolicy", "MlpPolicy", "PerturbationActor", "SpikingBCQ", "VAE"]
