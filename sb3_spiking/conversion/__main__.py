"""``python -m sb3_spiking.conversion`` (see :mod:`sb3_spiking.conversion.cli`)."""

from sb3_spiking.conversion.cli import main

main()
