"""The conversion command's old home: ``python -m sb3_spiking.convert`` runs
``python -m sb3_spiking.conversion`` (:mod:`sb3_spiking.conversion.cli`), whose names stay importable here."""

from sb3_spiking.conversion.cli import EVAL_SEED_OFFSET, conversion_sweep, format_rows, main

__all__ = ["EVAL_SEED_OFFSET", "conversion_sweep", "format_rows", "main"]

if __name__ == "__main__":
    main()
