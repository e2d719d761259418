"""Look inside a trained spiking agent: spike rasters, membrane traces, per-layer firing rates,
energy by layer and batch-1 latency against the ANN twin, tied together in ``report.md``.

    python -m sb3_spiking.report --algo spiking_td3 --env Pendulum-v1 -f logs --out report/
    python -m sb3_spiking.report --algo dsqn --env CartPole-v1 --model dsqn.zip --out report/
"""

from sb3_spiking.report.report import ann_twin, spiking_report

__all__ = ["ann_twin", "spiking_report"]
