"""Short learning tests: they fail if learning breaks (a random Pendulum policy scores about -1200).

The default run keeps one short test per algorithm; the ``slow`` ones reproduce the README's
settings (``pytest -m slow``).
"""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise

from sb3_spiking import SpikingTD3


def _train_pendulum(timesteps: int, learning_starts: int, net_arch, seed: int = 0, **policy_kwargs) -> float:
    model = SpikingTD3(
        "MlpPolicy",
        "Pendulum-v1",
        learning_rate=1e-3,
        gamma=0.98,
        learning_starts=learning_starts,
        batch_size=128,
        action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)),
        policy_kwargs=dict(net_arch=net_arch, **policy_kwargs),
        seed=seed,
        device="cpu",
    )
    model.learn(timesteps)
    eval_env = Monitor(gym.make("Pendulum-v1"))
    eval_env.reset(seed=1000 + seed)
    mean, _ = evaluate_policy(model, eval_env, n_eval_episodes=5)
    return mean


def test_spiking_td3_learns_pendulum_short():
    # Measured with these settings (seeds 0/1/2): -78 / -181 / -195, about 50 s each on 2 cores.
    mean = _train_pendulum(timesteps=8000, learning_starts=1000, net_arch=[64, 64])
    assert mean > -400, f"SpikingTD3 did not learn Pendulum-v1: mean eval return {mean:.0f}"


@pytest.mark.slow
def test_spiking_td3_pendulum_zoo_settings():
    mean = _train_pendulum(timesteps=20_000, learning_starts=10_000, net_arch=[400, 300])
    assert mean > -250
