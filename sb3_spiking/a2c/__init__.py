from sb3_spiking.a2c.a2c import SpikingA2C

__all__ = ["SpikingA2C"]
