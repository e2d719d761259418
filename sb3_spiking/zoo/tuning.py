"""Tuning with ``--storage <database URL>``: Optuna heartbeats for our algorithms' studies.

So that a dead worker's trial is failed and retried (see :mod:`sb3_spiking.zoo.storage`). The zoo
passes ``--storage`` to ``optuna.create_study`` as a string and has no place for a storage object,
so its module global ``optuna`` becomes a proxy whose ``create_study`` opens that URL as a
heartbeat RDBStorage while (and only while) a spiking algorithm's ``hyperparameters_optimization``
runs in the calling thread. Installed by :func:`sb3_spiking.zoo.plugin.patch_exp_manager`.
"""

from __future__ import annotations

import functools
import sys
import threading
import types
from typing import Any

#: The tuning run of ours in progress, per thread (Optuna's ``--n-jobs`` uses threads).
_current = threading.local()


class _Tuning:
    """What one ``hyperparameters_optimization`` call of ours passes to the proxy."""

    def __init__(self, url: str, settings: Any) -> None:
        self.url = url
        self.settings = settings
        self.study: Any = None


class ZooOptuna(types.ModuleType):
    """``rl_zoo3.exp_manager.optuna``: the real ``optuna`` module (every attribute is its), except
    :meth:`create_study`."""

    def __init__(self, real: types.ModuleType) -> None:
        super().__init__(real.__name__, real.__doc__)
        self.__dict__["_sb3_spiking_real"] = real

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_sb3_spiking_real"], name)

    def create_study(self, *args: Any, **kwargs: Any) -> Any:
        real = self.__dict__["_sb3_spiking_real"]
        tuning = getattr(_current, "tuning", None)
        if tuning is None:
            return real.create_study(*args, **kwargs)
        from sb3_spiking.zoo.storage import heartbeat_storage

        if kwargs.get("storage") == tuning.url and isinstance(kwargs.get("storage"), str):
            kwargs["storage"] = heartbeat_storage(tuning.url, tuning.settings)
            s = tuning.settings
            grace = s.grace_period if s.grace_period is not None else 2 * s.interval
            retries = "unlimited" if s.max_retry is None else s.max_retry
            print(
                f"sb3-spiking: study heartbeat every {s.interval} s; a trial without heartbeat for {grace} s is "
                f"failed and retried (max {retries} retries)"
            )
        else:
            _heartbeat_off("rl_zoo3 called optuna.create_study without the --storage URL as storage=")
        tuning.study = real.create_study(*args, **kwargs)
        return tuning.study

    def __repr__(self) -> str:
        return f"<sb3-spiking proxy of {self.__dict__['_sb3_spiking_real']!r}>"


def _heartbeat_off(why: str) -> None:
    from sb3_spiking.zoo.plugin import rl_zoo3_version
    from sb3_spiking.zoo.storage import ENV_INTERVAL

    zoo = rl_zoo3_version()
    sys.stderr.write(
        f"sb3-spiking: rl_zoo3 {zoo} not recognised ({why}); tuning runs WITHOUT heartbeats: a dead worker's "
        f"trial will stay RUNNING (set {ENV_INTERVAL}=off to silence this)\n"
    )


def _calls_module_create_study(function: Any) -> bool:
    """Whether ``function``'s code calls ``optuna.create_study`` through the module global ``optuna``."""
    import dis

    previous = None
    for ins in dis.get_instructions(function):
        if (
            previous is not None
            and previous.opname == "LOAD_GLOBAL"
            and previous.argval == "optuna"
            and ins.opname in ("LOAD_ATTR", "LOAD_METHOD")
            and ins.argval == "create_study"
        ):
            return True
        previous = ins
    return False


def patch_study_storage(module: types.ModuleType) -> None:
    """Heartbeats for our algorithms' studies on a database (see :mod:`sb3_spiking.zoo.storage`).

    If ``module`` (rl_zoo3.exp_manager) does not look as expected, tuning still works, with a
    message that heartbeats are off.
    """
    from sb3_spiking.zoo.plugin import ZOO_ALGOS
    from sb3_spiking.zoo.storage import HeartbeatSettings, is_rdb_url, report_waiting_retries, sweep_stale_trials

    manager_cls = module.ExperimentManager
    original = getattr(manager_cls, "hyperparameters_optimization", None)
    if original is None or getattr(original, "_sb3_spiking_patched", False):
        return
    real = getattr(module, "optuna", None)
    recognised = isinstance(real, types.ModuleType) and _calls_module_create_study(original)
    if recognised and not isinstance(real, ZooOptuna):
        module.optuna = ZooOptuna(real)

    @functools.wraps(original)
    def hyperparameters_optimization(self):  # type: ignore[no-untyped-def]
        if self.algo not in ZOO_ALGOS or not is_rdb_url(getattr(self, "storage", None)):
            return original(self)
        settings = HeartbeatSettings.from_env()
        if not settings.enabled:
            return original(self)
        if not recognised:
            _heartbeat_off("ExperimentManager.hyperparameters_optimization does not call optuna.create_study")
            return original(self)
        tuning = _current.tuning = _Tuning(self.storage, settings)
        try:
            result = original(self)
        finally:
            _current.tuning = None
        if tuning.study is not None:
            # the last worker to exit still fails a trial that went stale during its last trial
            report_waiting_retries(sweep_stale_trials(tuning.study), self.study_name)
        return result

    hyperparameters_optimization._sb3_spiking_patched = True  # type: ignore[attr-defined]
    manager_cls.hyperparameters_optimization = hyperparameters_optimization
