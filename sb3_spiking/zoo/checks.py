"""The check of one RL Zoo hyperparameter entry's spiking options (run by the patched
``ExperimentManager.read_hyperparameters``, see :mod:`sb3_spiking.zoo.plugin`)."""

from __future__ import annotations

import inspect
from typing import Any


def _policy_class(algo: str, policy: Any) -> type | None:
    from sb3_spiking.zoo.plugin import algorithm_class

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
