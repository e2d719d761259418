"""The offline commands' building blocks moved to :mod:`sb3_spiking.offline.cli`; their names stay
importable here."""

from sb3_spiking.offline.cli import BEHAVIOUR_ALGOS, MODES, behaviour_model, cmd_collect, evaluate, train_one, zoo_hyperparams

__all__ = ["BEHAVIOUR_ALGOS", "MODES", "behaviour_model", "cmd_collect", "evaluate", "train_one", "zoo_hyperparams"]
