"""RL Zoo hyperparameter entries as constructor arguments, for scripts that train outside
``rl_zoo3 train`` (benchmarks, behaviour policies of offline datasets) with the zoo's settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: Entry keys that configure the zoo's environment set-up, not the algorithm; dropped here.
ENV_KEYS = ("policy", "normalize", "env_wrapper", "callback", "frame_stack", "vec_env_wrapper")


def zoo_file(algo: str) -> Path:
    """rl_zoo3's own ``hyperparams/<algo>.yml`` (``algo``: an RL Zoo name such as ``"td3"``)."""
    import rl_zoo3

    return Path(rl_zoo3.__file__).parent / "hyperparams" / f"{algo}.yml"


def zoo_entry(path: str | Path, env_id: str) -> dict[str, Any]:
    """One environment's entry of an RL-Zoo-style YAML file, as written (a copy); a missing file or
    entry raises ``FileNotFoundError`` / ``KeyError`` naming it."""
    import yaml

    with open(path) as f:
        entries = yaml.safe_load(f) or {}
    if env_id not in entries:
        raise KeyError(f"{path} has no entry for {env_id!r}")
    return dict(entries[env_id])


def zoo_kwargs(path: str | Path, env_id: str, n_actions: int | None = None) -> tuple[dict[str, Any], int, int]:
    """One environment's entry of an RL-Zoo-style YAML file, the way ``rl_zoo3 train`` reads it:
    ``(constructor kwargs, n_timesteps, n_envs)``.

    ``policy_kwargs`` strings are evaluated (the zoo's ``"dict(...)"`` syntax), ``lin_<v>``
    learning rates / clip ranges become RL Zoo's ``linear_schedule``, ``noise_type``/``noise_std``
    become an SB3 action noise for ``n_actions`` actions; environment set-up keys are dropped.
    A missing entry raises ``KeyError`` naming the file and the entry (see :func:`zoo_entry`).
    """
    from rl_zoo3.utils import linear_schedule

    entry = zoo_entry(path, env_id)
    for key in ENV_KEYS:
        entry.pop(key, None)
    n_timesteps, n_envs = int(float(entry.pop("n_timesteps", 0))), int(entry.pop("n_envs", 1))
    if isinstance(entry.get("policy_kwargs"), str):
        from torch import nn

        entry["policy_kwargs"] = eval(entry["policy_kwargs"], {"dict": dict, "nn": nn})  # as rl_zoo3 does
    for key in ("learning_rate", "clip_range"):
        if isinstance(entry.get(key), str) and entry[key].startswith("lin_"):
            entry[key] = linear_schedule(float(entry[key][4:]))
    noise_type, noise_std = entry.pop("noise_type", None), float(entry.pop("noise_std", 0.0))
    if noise_type is not None:
        from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

        if n_actions is None:
            raise ValueError(f"{path} ({env_id}) sets noise_type={noise_type!r}: pass n_actions")
        noise_cls = NormalActionNoise if "normal" in noise_type else OrnsteinUhlenbeckActionNoise
        entry["action_noise"] = noise_cls(mean=np.zeros(n_actions), sigma=noise_std * np.ones(n_actions))
    return entry, n_timesteps, n_envs


def zoo_callbacks(path: str | Path, env_id: str) -> list:
    """The callbacks an entry's ``callback:`` key names, built by RL Zoo's own ``get_callback_list``
    (class path, optionally with keyword arguments), as ``rl_zoo3 train`` would pass them to ``learn``."""
    from rl_zoo3.utils import get_callback_list

    return get_callback_list(zoo_entry(path, env_id))
