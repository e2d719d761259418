from sb3_spiking.ddpg.ddpg import SpikingDDPG

__all__ = ["SpikingDDPG"]
