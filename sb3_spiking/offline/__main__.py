"""``python -m sb3_spiking.offline`` (see :mod:`sb3_spiking.offline.cli`)."""

from sb3_spiking.offline.cli import main

main()
