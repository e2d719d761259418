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

# The check of one hyperparameter entry lives in zoo/checks.py; it stays importable from here.
from sb3_spiking.zoo.checks import check_hyperparams

# The Optuna heartbeat proxy lives in zoo/tuning.py; these names stay importable from here.
from sb3_spiking.zoo.tuning import ZooOptuna as ZooOptuna
from sb3_spiking.zoo.tuning import _calls_module_create_study as _calls_module_create_study
from sb3_spiking.zoo.tuning import patch_study_storage

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
# When rl_zoo3 no longer looks as these patches expect: one line, never a traceback
# --------------------------------------------------------------------------------------------
#: The rl_zoo3 releases the patches below are tested with (setup.py's zoo extra pins the same).
TESTED_RL_ZOO3 = ">=2.7,<2.10"


class ZooMismatch(RuntimeError):
    """rl_zoo3 does not have what a patch expects (a newer release changed its internals)."""


def rl_zoo3_version() -> str:
    try:
        from importlib.metadata import version

        return version("rl_zoo3")
    except Exception:  # any failure: the version is only for the message
        return "?"


def warn_mismatch(name: str, exc: BaseException) -> None:
    """The one line printed when patching ``name`` failed: what did not match, and the versions."""
    sys.stderr.write(
        f"sb3-spiking: rl_zoo3 {rl_zoo3_version()} does not match what sb3-spiking patches in {name} "
        f"({type(exc).__name__}: {exc}); tested with rl_zoo3{TESTED_RL_ZOO3}; spiking algorithms may be "
        "missing from rl_zoo3 or behave as their ANN twins there\n"
    )


def apply_patch(name: str, module: types.ModuleType) -> bool:
    """Run the patch of ``name`` (see :data:`PATCHES`) on ``module``; on any failure print
    :func:`warn_mismatch`'s line instead of raising (rl_zoo3 itself keeps working)."""
    try:
        PATCHES[name](module)
    except Exception as exc:  # never break rl_zoo3 because of us
        warn_mismatch(name, exc)
        return False
    return True


def _require(module: types.ModuleType, attr: str, kind: type | tuple[type, ...], what: str) -> Any:
    """``module.attr``, checked to be a ``kind`` (raises :class:`ZooMismatch` otherwise)."""
    value = getattr(module, attr, None)
    if not isinstance(value, kind):
        raise ZooMismatch(f"{module.__name__}.{attr} is not {what}")
    return value


# --------------------------------------------------------------------------------------------
# rl_zoo3.utils
# --------------------------------------------------------------------------------------------
def patch_utils(module: types.ModuleType) -> None:
    algos = _require(module, "ALGOS", dict, "the dict of algorithm classes")
    for name in ZOO_ALGOS:
        algos.setdefault(name, algorithm_class(name))


# --------------------------------------------------------------------------------------------
# rl_zoo3.hyperparams_opt
# --------------------------------------------------------------------------------------------
def patch_hyperparams_opt(module: types.ModuleType) -> None:
    from sb3_spiking.zoo.hyperparams_opt import SpikingConverter, SpikingSampler

    _require(module, "HYPERPARAMS_SAMPLER", dict, "the dict of Optuna samplers")
    _require(module, "HYPERPARAMS_CONVERTER", dict, "the dict of hyperparameter converters")
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
    manager_cls = _require(module, "ExperimentManager", type, "a class")
    if getattr(manager_cls, "_sb3_spiking_patched", False):
        return
    for method in ("__init__", "read_hyperparameters", "objective"):
        if not inspect.isfunction(getattr(manager_cls, method, None)):
            raise ZooMismatch(f"{module.__name__}.ExperimentManager.{method} is not a function")
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
    """:func:`extend_off_policy_lists` for the functions of a module that is already imported.

    Silent when no function holds a list: a script module (``record_video``) keeps its list in
    module-level code, which has already run; the import hook's :func:`rewrite_module_code` is
    where a missing list is reported."""
    for value in vars(module).values():
        if isinstance(value, types.FunctionType) and value.__module__ == module.__name__:
            value.__code__ = extend_off_policy_lists(value.__code__)


def _has_off_policy_list(code: types.CodeType) -> bool:
    return any(
        _has_off_policy_list(const) if isinstance(const, types.CodeType) else _is_off_policy_list(const)
        for const in code.co_consts
    )


def rewrite_module_code(name: str, code: types.CodeType) -> types.CodeType:
    """``code`` of the rl_zoo3 module ``name`` with its off-policy lists extended; the module's own
    code on any failure, or where no list is found, with :func:`warn_mismatch`'s line."""
    try:
        if not _has_off_policy_list(code):
            warn_no_off_policy_list(name)
            return code
        return extend_off_policy_lists(code)
    except Exception as exc:  # never break rl_zoo3 because of us
        warn_mismatch(name, exc)
        return code


def warn_no_off_policy_list(name: str) -> None:
    warn_mismatch(
        name,
        ZooMismatch(
            "no hard-coded list of off-policy algorithm names found: enjoy loads our off-policy agents with "
            "their saved replay-buffer size"
        ),
    )


# --------------------------------------------------------------------------------------------
# rl_zoo3.cli
# --------------------------------------------------------------------------------------------
def patch_cli(module: types.ModuleType) -> None:
    original_main = _require(module, "main", types.FunctionType, "the rl_zoo3 command's main function")
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
