"""What sb3-spiking changes in RL Zoo (``rl_zoo3``), module by module.

Called by the start-up hook (:mod:`sb3_spiking.zoo._hook`) right after each watched rl_zoo3
module is executed, or by :func:`sb3_spiking.zoo.register` for modules already imported.
Every patch is additive and idempotent: rl_zoo3's own algorithms behave exactly as before.

- ``rl_zoo3.utils``: our algorithms join ``ALGOS`` (the ``--algo`` choices of every script).
- ``rl_zoo3.hyperparams_opt``: ``HYPERPARAMS_SAMPLER``/``HYPERPARAMS_CONVERTER`` entries that
  tune the zoo's usual parameters for the ANN twin *and* the spiking options.
- ``rl_zoo3.exp_manager``: without ``-conf``, the zoo reads ``hyperparams/<algo>.yml`` from its
  own package folder; for our algorithms it reads ours instead (falling back to the zoo's file
  of the ANN twin for environments we ship no settings for), and it checks the spiking options
  of the chosen entry, naming the key and the file on error. Tuning with ``--storage <database
  URL>`` opens the study with Optuna's heartbeats and retry callback, so that a dead worker's
  trial is failed and retried (:func:`patch_study_storage`, :mod:`sb3_spiking.zoo.storage`).
- ``rl_zoo3.enjoy``/``record_video``/``push_to_hub``/``benchmark``: they keep a hard-coded list of
  off-policy names in a function or script body (``enjoy`` uses it to load with a 1-transition
  replay buffer instead of the saved size, e.g. 1M Atari frames). We extend that constant in the
  module's code object; if a future rl_zoo3 changes the list, nothing is rewritten and enjoy
  still works, only with the saved buffer size.
- ``rl_zoo3.cli``: the ``rl_zoo3`` command knows ``train``/``enjoy``/plots but not
  ``record_video`` (a script module); we add ``record_video`` and ``record_training``.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import runpy
import sys
import threading
import types
from pathlib import Path
from typing import Any

#: zoo name -> (module, class, the zoo name of its ANN twin, off-policy?)
ZOO_ALGOS: dict[str, tuple[str, str, str, bool]] = {
    "spiking_td3": ("sb3_spiking.td3", "SpikingTD3", "td3", True),
    "spiking_ddpg": ("sb3_spiking.ddpg", "SpikingDDPG", "ddpg", True),
    "spiking_sac": ("sb3_spiking.sac", "SpikingSAC", "sac", True),
    "dsqn": ("sb3_spiking.dsqn", "DSQN", "dqn", True),
    "spiking_qrdqn": ("sb3_spiking.qrdqn", "SpikingQRDQN", "qrdqn", True),
    "spiking_tqc": ("sb3_spiking.tqc", "SpikingTQC", "tqc", True),
    "spiking_ppo": ("sb3_spiking.ppo", "SpikingPPO", "ppo", False),
    "spiking_a2c": ("sb3_spiking.a2c", "SpikingA2C", "a2c", False),
    # RecurrentPPO with a spiking actor whose membranes are its memory (RL Zoo's ppo_lstm).
    "spiking_ppo_lstm": ("sb3_spiking.ppo_recurrent", "SpikingRecurrentPPO", "ppo_lstm", False),
    # offline: trains from the Minari dataset named by the ``dataset`` hyperparameter; RL Zoo has
    # no BCQ, so there is no ANN file to fall back to and no tuning sampler.
    "spiking_bcq": ("sb3_spiking.bcq", "SpikingBCQ", "bcq", True),
}
OFF_POLICY = tuple(name for name, entry in ZOO_ALGOS.items() if entry[3])
#: Algorithms whose Optuna sampler also tunes ``proxy_target`` (an algorithm argument).
PROXY_TARGET_ALGOS = ("spiking_td3", "spiking_ddpg")

#: Scripts the ``rl_zoo3`` command gains (rl_zoo3 modules run as ``__main__``).
EXTRA_SCRIPTS = ("record_video", "record_training")

#: The experiment manager whose ``objective`` is running, per thread (Optuna's ``--n-jobs`` uses
#: threads); the samplers read the environment from it.
_current = threading.local()


def algorithm_class(name: str) -> type:
    module, cls, _, _ = ZOO_ALGOS[name]
    return getattr(importlib.import_module(module), cls)


def hyperparams_dir() -> Path:
    """Folder of our zoo-format ``<algo>.yml`` files: packaged next to this module in a wheel,
    the repository's top-level ``hyperparams/`` in a source checkout or editable install."""
    packaged = Path(__file__).parent / "hyperparams"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "hyperparams"


def default_config(algo: str) -> str:
    return str(hyperparams_dir() / f"{algo}.yml")


# --------------------------------------------------------------------------------------------
# rl_zoo3.utils
# --------------------------------------------------------------------------------------------
def patch_utils(module: types.ModuleType) -> None:
    for name in ZOO_ALGOS:
        module.ALGOS.setdefault(name, algorithm_class(name))


# --------------------------------------------------------------------------------------------
# rl_zoo3.hyperparams_opt
# --------------------------------------------------------------------------------------------
def patch_hyperparams_opt(module: types.ModuleType) -> None:
    from sb3_spiking.zoo.hyperparams_opt import SpikingConverter, SpikingSampler

    for name, (_, _, base, _) in ZOO_ALGOS.items():
        if name not in module.HYPERPARAMS_SAMPLER and base in module.HYPERPARAMS_SAMPLER:
            module.HYPERPARAMS_SAMPLER[name] = SpikingSampler(
                module.HYPERPARAMS_SAMPLER[base], current_manager, proxy_target=name in PROXY_TARGET_ALGOS
            )
        if name not in module.HYPERPARAMS_CONVERTER and base in module.HYPERPARAMS_CONVERTER:
            module.HYPERPARAMS_CONVERTER[name] = SpikingConverter(module.HYPERPARAMS_CONVERTER[base])


def current_manager() -> Any:
    """The ``ExperimentManager`` running an Optuna trial in this thread, or None."""
    return getattr(_current, "manager", None)


# --------------------------------------------------------------------------------------------
# rl_zoo3.exp_manager
# --------------------------------------------------------------------------------------------
def _zoo_default_config(exp_manager: types.ModuleType, algo: str) -> str:
    """rl_zoo3's own default path for ``algo`` (same rule as ``ExperimentManager.__init__``)."""
    here = Path(exp_manager.__file__).parent
    root = here if (here / "hyperparams").is_dir() else here.parent
    return str(root / f"hyperparams/{algo}.yml")


def _entry_for(hyperparams_dict: dict[str, Any], gym_id: str, is_atari: bool) -> bool:
    return gym_id in hyperparams_dict or (is_atari and "atari" in hyperparams_dict) or "default" in hyperparams_dict


def patch_exp_manager(module: types.ModuleType) -> None:
    manager_cls = module.ExperimentManager
    if getattr(manager_cls, "_sb3_spiking_patched", False):
        return
    original_init = manager_cls.__init__
    original_read = manager_cls.read_hyperparameters
    original_objective = manager_cls.objective

    @functools.wraps(original_init)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self._sb3_spiking_default_config = False
        if self.algo in ZOO_ALGOS and self.config == _zoo_default_config(module, self.algo):
            self.config = default_config(self.algo)
            self._sb3_spiking_default_config = True

    @functools.wraps(original_read)
    def read_hyperparameters(self):  # type: ignore[no-untyped-def]
        if self.algo not in ZOO_ALGOS:
            return original_read(self)
        if getattr(self, "_sb3_spiking_default_config", False):
            _fall_back_to_ann_settings(self, module)
        hyperparams, saved_hyperparams = original_read(self)
        check_hyperparams(hyperparams, self.algo, self.env_name.gym_id, self.config, vars(module))
        return hyperparams, saved_hyperparams

    @functools.wraps(original_objective)
    def objective(self, trial):  # type: ignore[no-untyped-def]
        _current.manager = self
        try:
            return original_objective(self, trial)
        finally:
            _current.manager = None

    manager_cls.__init__ = __init__
    manager_cls.read_hyperparameters = read_hyperparameters
    manager_cls.objective = objective
    manager_cls._sb3_spiking_patched = True
    patch_study_storage(module)


# Tuning on a database: heartbeats, so that a dead worker's trial is failed and retried
# (sb3_spiking.zoo.storage). The zoo passes ``--storage`` to ``optuna.create_study`` as a string
# and has no place for a storage object, so its module global ``optuna`` becomes a proxy whose
# ``create_study`` opens that URL as a heartbeat RDBStorage while (and only while) a spiking
# algorithm's ``hyperparameters_optimization`` runs in the calling thread.
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
    from sb3_spiking.zoo.storage import ENV_INTERVAL

    try:
        from importlib.metadata import version

        zoo = version("rl_zoo3")
    except Exception:
        zoo = "?"
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


def _fall_back_to_ann_settings(manager: Any, module: types.ModuleType) -> None:
    """Use the zoo's settings of the ANN twin for an environment our file does not list."""
    import yaml

    gym_id = manager.env_name.gym_id
    is_atari = manager.is_atari(gym_id)
    ours: dict[str, Any] = {}
    if os.path.isfile(manager.config):
        with open(manager.config) as f:
            ours = yaml.safe_load(f) or {}
    if _entry_for(ours, gym_id, is_atari):
        return
    base = ZOO_ALGOS[manager.algo][2]
    zoo_file = _zoo_default_config(module, base)
    if os.path.isfile(zoo_file):
        with open(zoo_file) as f:
            if _entry_for(yaml.safe_load(f) or {}, gym_id, is_atari):
                print(
                    f"sb3-spiking: no {manager.algo} settings for {gym_id} in {manager.config}; "
                    f"using RL Zoo's {base} settings ({zoo_file}) with the default spiking options"
                )
                manager.config = zoo_file


def _policy_class(algo: str, policy: Any) -> type | None:
    cls = algorithm_class(algo)
    if isinstance(policy, str):
        return cls.policy_aliases.get(policy)
    return policy if isinstance(policy, type) else None


def _policy_parameters(policy_cls: type) -> set[str]:
    """Named constructor parameters of a policy class and its bases (SB3's included)."""
    names: set[str] = set()
    for klass in policy_cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        for pname, param in inspect.signature(init).parameters.items():
            if param.kind not in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                names.add(pname)
    return names - {"self", "observation_space", "action_space", "lr_schedule"}


def check_hyperparams(
    hyperparams: dict[str, Any], algo: str, env_id: str, config: str, eval_globals: dict[str, Any] | None = None
) -> None:
    """Check the spiking options of one hyperparameter entry; errors name the key and the file.

    ``policy_kwargs`` may still be the zoo's string form (``"dict(num_steps=5)"``); it is
    evaluated the way the zoo will evaluate it. Anything this check cannot judge (an expression
    the zoo itself would reject) is left to the zoo.
    """
    from sb3_spiking.common.options import SPIKING_KEYS
    from sb3_spiking.snn.options import SpikingOptions

    where = f"{config} (entry {env_id!r}, --algo {algo})"
    misplaced = sorted(k for k in hyperparams if k in SPIKING_KEYS)
    if misplaced:
        raise ValueError(
            f"{where}: {', '.join(map(repr, misplaced))} is a spiking option, not an algorithm argument: "
            f'put it inside policy_kwargs, e.g. policy_kwargs: "dict({misplaced[0]}=...)"'
        )
    policy_kwargs = hyperparams.get("policy_kwargs")
    if isinstance(policy_kwargs, str):
        try:
            policy_kwargs = eval(policy_kwargs, dict(eval_globals or {}))  # same as rl_zoo3 does
        except Exception:
            return
    if not isinstance(policy_kwargs, dict):
        return
    policy_cls = _policy_class(algo, hyperparams.get("policy", "MlpPolicy"))
    allowed_sb3 = _policy_parameters(policy_cls) if policy_cls is not None else set()
    unknown = sorted(k for k in policy_kwargs if k not in SPIKING_KEYS and k not in allowed_sb3)
    if unknown and policy_cls is not None:
        raise ValueError(
            f"{where}: unknown key {unknown[0]!r} in policy_kwargs. Spiking options: {', '.join(SPIKING_KEYS)}; "
            f"{policy_cls.__name__} also takes: {', '.join(sorted(allowed_sb3))}"
        )
    spiking = {k: v for k, v in policy_kwargs.items() if k in SpikingOptions.field_names()}
    try:
        SpikingOptions(**spiking)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: invalid spiking option in policy_kwargs: {exc}") from exc


# --------------------------------------------------------------------------------------------
# rl_zoo3.enjoy / record_video / push_to_hub / benchmark
# --------------------------------------------------------------------------------------------
def _is_off_policy_list(value: Any) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) > 2
        and all(isinstance(v, str) for v in value)
        and {"dqn", "td3", "sac"} <= set(value)
        and not {"ppo", "a2c"} & set(value)  # e.g. the keys of the ALGOS dict literal
    )


def extend_off_policy_lists(code: types.CodeType) -> types.CodeType:
    """``code`` with every constant tuple of off-policy algorithm names (``["qrdqn", "dqn", ...]``
    compiles to one) extended by ours; nested functions included."""
    consts = []
    changed = False
    for const in code.co_consts:
        new = const
        if isinstance(const, types.CodeType):
            new = extend_off_policy_lists(const)
        elif _is_off_policy_list(const):
            new = const + tuple(name for name in OFF_POLICY if name not in const)
        changed = changed or new is not const
        consts.append(new)
    return code.replace(co_consts=tuple(consts)) if changed else code


def patch_function_codes(module: types.ModuleType) -> None:
    """:func:`extend_off_policy_lists` for the functions of a module that is already imported."""
    for value in vars(module).values():
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            value.__code__ = extend_off_policy_lists(value.__code__)


# --------------------------------------------------------------------------------------------
# rl_zoo3.cli
# --------------------------------------------------------------------------------------------
def patch_cli(module: types.ModuleType) -> None:
    original_main = module.main
    if getattr(original_main, "_sb3_spiking_patched", False):
        return

    @functools.wraps(original_main)
    def main() -> Any:
        if len(sys.argv) > 1 and sys.argv[1] in EXTRA_SCRIPTS:
            script = sys.argv.pop(1)
            runpy.run_module(f"rl_zoo3.{script}", run_name="__main__", alter_sys=True)
            return None
        return original_main()

    main._sb3_spiking_patched = True  # type: ignore[attr-defined]
    module.main = main


#: rl_zoo3 modules whose code hard-codes a list of off-policy names (see extend_off_policy_lists).
REWRITE_CODE = ("rl_zoo3.enjoy", "rl_zoo3.record_video", "rl_zoo3.push_to_hub", "rl_zoo3.benchmark")

#: Which patch goes with which rl_zoo3 module, run right after the module executes.
PATCHES = {
    "rl_zoo3.utils": patch_utils,
    "rl_zoo3.hyperparams_opt": patch_hyperparams_opt,
    "rl_zoo3.exp_manager": patch_exp_manager,
    "rl_zoo3.cli": patch_cli,
}
