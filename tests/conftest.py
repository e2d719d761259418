"""Shared fixtures."""

import pytest
import torch as th


@pytest.fixture(scope="module")
def one_thread():
    """Single-threaded torch for a test module: with other processes on the 2 cores, torch's 2
    threads spin against them (a 5k-step DQN fixture took 212 s instead of 6 s)."""
    threads = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(threads)


@pytest.fixture
def cartpole_ppo():
    """Factory of a PPO with RL Zoo's CartPole-v1 settings (constant lr/clip), 8 seeded envs."""

    def make(policy="MlpPolicy", seed=0):
        from stable_baselines3 import PPO
        from stable_baselines3.common.env_util import make_vec_env

        return PPO(
            policy,
            make_vec_env("CartPole-v1", n_envs=8, seed=seed),
            n_steps=32,
            batch_size=256,
            gae_lambda=0.8,
            gamma=0.98,
            n_epochs=20,
            ent_coef=0.0,
            learning_rate=1e-3,
            clip_range=0.2,
            seed=seed,
            device="cpu",
        )

    return make
