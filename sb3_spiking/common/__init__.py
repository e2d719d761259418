from sb3_spiking.common.callbacks import SpikeStatsCallback
from sb3_spiking.common.energy import energy_report

__all__ = ["SpikeStatsCallback", "energy_report"]
