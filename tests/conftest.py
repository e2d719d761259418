"""Shared fixtures, and the ``quick`` marker."""

import pytest
import torch as th

#: ``pytest -m quick`` (the README's quick run, under 3 minutes on 2 cores): the engine, the
#: options, the accounting, the docs, and the off-policy/actor-critic classes' unit tests
#: (save/load, predict on every space, export); no learning runs and no RL Zoo subprocesses.
QUICK_MODULES = {
    "test_docs.py",
    "test_neurons.py",
    "test_engine.py",
    "test_accounting.py",
    "test_allocator.py",
    "test_training_mode.py",
    "test_fast_predict.py",
    "test_callbacks.py",
    "test_td3.py",
    "test_sac.py",
    "test_dsqn.py",
    "test_qrdqn.py",
    "test_actor_critic.py",
    "test_export.py",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in QUICK_MODULES and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.quick)


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
