"""Find and load a trained agent the way ``rl_zoo3 enjoy`` does, for our command-line tools.

``python -m sb3_spiking.report --algo spiking_td3 --env Pendulum-v1 -f logs`` (and the other tools
that take ``--algo/--env/-f`` or ``--model``) go through :func:`load_agent`: the latest run
``logs/<algo>/<env>_<id>/<env>.zip`` (or ``--exp-id``, ``--load-best``), its saved settings
(``<env>/config.yml``: wrappers, frame stacking, ``VecNormalize`` statistics) applied to the test
env exactly as enjoy applies them, off-policy models loaded with a 1-transition replay buffer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass
class LoadedAgent:
    """A model, the env it acts in (a ``VecEnv`` built like enjoy's) and where it came from."""

    model: Any
    env: Any
    algo: str
    env_id: str
    model_path: str


def _algo_class(algo: str) -> type:
    from rl_zoo3.utils import ALGOS  # sb3-spiking registers its algorithms in the zoo's table

    if algo not in ALGOS:
        spiking = sorted(name for name in ALGOS if name.startswith("spiking_") or name == "dsqn")
        raise ValueError(f"unknown --algo {algo!r}; sb3-spiking algorithms: {', '.join(spiking)}")
    return ALGOS[algo]


def load_agent(
    algo: str,
    env_id: str,
    folder: str | None = None,
    model_path: str | None = None,
    exp_id: int = 0,
    load_best: bool = False,
    seed: int = 0,
    device: str = "cpu",
) -> LoadedAgent:
    """Load ``model_path``, or the model RL Zoo's ``enjoy`` would load from ``folder``.

    :param algo: RL Zoo name (``spiking_td3``, ``dsqn``, ``ppo``, ...).
    :param env_id: Gymnasium id.
    :param folder: the ``-f`` log folder of ``rl_zoo3 train`` (used when ``model_path`` is None).
    :param model_path: a saved ``.zip``; its folder's ``<env>/config.yml`` is used if present.
    :param exp_id: run number (0: the latest), as enjoy's ``--exp-id``.
    :param load_best: ``best_model.zip`` instead of the final model.
    :param seed: seed of the test env.
    """
    import rl_zoo3.import_envs  # noqa: F401  (as enjoy: registers ALE, the velocity-masked envs, ...)
    from huggingface_sb3 import EnvironmentName
    from rl_zoo3.utils import create_test_env, get_model_path, get_saved_hyperparams

    from sb3_spiking.zoo.plugin import OFF_POLICY

    cls = _algo_class(algo)
    env_name = EnvironmentName(env_id)
    if model_path is None:
        if folder is None:
            raise ValueError("give either a model file (--model) or the RL Zoo log folder (-f)")
        _, model_path, log_path = get_model_path(exp_id, folder, algo, env_name, load_best)
    else:
        if not os.path.isfile(model_path):
            raise FileNotFoundError(f"no model file {model_path}")
        log_path = os.path.dirname(os.path.abspath(model_path))
    stats_path = os.path.join(log_path, env_name)
    hyperparams, maybe_stats_path = get_saved_hyperparams(stats_path, test_mode=True)
    env = create_test_env(
        env_name.gym_id, n_envs=1, stats_path=maybe_stats_path, seed=seed, should_render=False, hyperparams=hyperparams
    )
    kwargs: dict[str, Any] = dict(seed=seed)
    off_policy = {"dqn", "qrdqn", "ddpg", "sac", "td3", "tqc", *OFF_POLICY}
    if algo in off_policy:
        kwargs["buffer_size"] = 1  # as enjoy: not the saved buffer size (1M Atari frames = 26 GiB)
    try:
        model = cls.load(model_path, env=env, device=device, **kwargs)
    except ValueError as exc:
        if "spaces do not match" not in str(exc):
            raise
        raise ValueError(
            f"{model_path} does not fit {env_id} as made here ({exc}); if it was trained by rl_zoo3, pass its log "
            "folder (-f) so the saved wrappers (frame stacking, Atari preprocessing, normalisation) are applied"
        ) from exc
    # SB3 wraps the env on load (e.g. VecTransposeImage for channel-last images): act in that one
    return LoadedAgent(model, model.get_env(), algo, env_id, model_path)
