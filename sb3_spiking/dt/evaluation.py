"""Evaluating a decision transformer with exact returns-to-go."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from sb3_spiking.snn.validation import check_int

if TYPE_CHECKING:
    from sb3_spiking.dt.dt import SpikingDecisionTransformer


def evaluate_with_rewards(
    model: SpikingDecisionTransformer, env: GymEnv, n_eval_episodes: int = 10, deterministic: bool = True
) -> tuple[float, float]:
    """``evaluate_policy`` with **exact** returns-to-go: the rewards each step returns are passed to
    ``model.predict(rewards=...)`` instead of the reward model's estimates.

    Episodes are spread over the environments as SB3's ``evaluate_policy`` does; returns are the
    summed rewards of each episode as the (vectorised) environment reports them.

    :return: mean and standard deviation of the episode returns.
    """
    n_eval_episodes = check_int("n_eval_episodes", n_eval_episodes)
    vec_env: VecEnv = env if isinstance(env, VecEnv) else DummyVecEnv([lambda: env])  # type: ignore[list-item, return-value]
    n_envs = vec_env.num_envs
    targets = np.array([(n_eval_episodes + i) // n_envs for i in range(n_envs)])
    counts, current = np.zeros(n_envs, int), np.zeros(n_envs)
    episode_returns: list[float] = []
    obs = vec_env.reset()
    state, starts, rewards = None, np.ones(n_envs, bool), None
    while (counts < targets).any():
        actions, state = model.predict(obs, state, starts, deterministic=deterministic, rewards=rewards)
        obs, rewards, dones, _ = vec_env.step(actions)
        current += rewards
        for i in np.flatnonzero(dones):
            if counts[i] < targets[i]:
                episode_returns.append(float(current[i]))
                counts[i] += 1
            current[i] = 0.0
        starts = dones
    return float(np.mean(episode_returns)), float(np.std(episode_returns))
