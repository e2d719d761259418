"""Environments for the evaluation commands (``python -m sb3_spiking.convert`` / ``.robustness``)."""

from __future__ import annotations

from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_atari_env, make_vec_env
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.vec_env import VecEnv, VecFrameStack, VecTransposeImage

#: Frames stacked for Atari games, as RL Zoo's ``atari`` settings (``frame_stack: 4``).
ATARI_FRAME_STACK = 4


def is_atari_id(env_id: str) -> bool:
    """Whether ``env_id`` names an Atari game (``...NoFrameskip-v4`` or ``ALE/...``)."""
    return "NoFrameskip" in env_id or env_id.startswith("ALE/")


def make_eval_env(env_id: str, seed: int | None = None, n_envs: int = 1) -> VecEnv:
    """A vectorised env as RL Zoo trains on it: Atari games with SB3's ``AtariWrapper``, 4 stacked
    frames and channel-first images (``VecTransposeImage``); anything else with ``Monitor`` only.

    :param env_id: Gymnasium id.
    :param seed: seed of the first reset.
    :param n_envs: parallel copies.
    """
    if is_atari_id(env_id):
        import ale_py
        import gymnasium as gym

        gym.register_envs(ale_py)
        env = VecFrameStack(make_atari_env(env_id, n_envs=n_envs, seed=seed), n_stack=ATARI_FRAME_STACK)
        return VecTransposeImage(env)
    return make_vec_env(env_id, n_envs=n_envs, seed=seed)


def as_vec_env(env: GymEnv) -> VecEnv:
    """``env`` as SB3 wraps an env passed to a model (``Monitor``, ``DummyVecEnv``, channel-first
    images via ``VecTransposeImage``), so that its spaces compare equal to the model's."""
    return BaseAlgorithm._wrap_env(env, verbose=0, monitor_wrapper=True)
