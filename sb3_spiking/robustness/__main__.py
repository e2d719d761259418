"""``python -m sb3_spiking.robustness`` (see :mod:`sb3_spiking.robustness.cli`)."""

from sb3_spiking.robustness.cli import main

main()
