from sb3_spiking.common.callbacks import SpikeStatsCallback, StopTrainingWhenSolved
from sb3_spiking.common.energy import energy_report

__all__ = ["SpikeStatsCallback", "StopTrainingWhenSolved", "energy_report"]
