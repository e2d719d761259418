from sb3_spiking.ppo.ppo import SpikingPPO

__all__ = ["SpikingPPO"]
