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


def _evaluate(model, env_id: str, seed: int, episodes: int = 5) -> float:
    eval_env = Monitor(gym.make(env_id))
    eval_env.reset(seed=1000 + seed)
    mean, _ = evaluate_policy(model, eval_env, n_eval_episodes=episodes)
    return mean


def test_dsqn_learns_cartpole_short():
    from sb3_spiking import DSQN

    # RL Zoo's DQN CartPole settings on a 20k-step budget (random policy: about 22)
    model = DSQN(
        "MlpPolicy",
        "CartPole-v1",
        learning_rate=2.3e-3,
        batch_size=64,
        buffer_size=100_000,
        learning_starts=1000,
        gamma=0.99,
        target_update_interval=10,
        train_freq=256,
        gradient_steps=128,
        exploration_fraction=0.16,
        exploration_final_eps=0.04,
        policy_kwargs=dict(net_arch=[64, 64]),
        seed=0,
        device="cpu",
    )
    model.learn(20_000)
    mean = _evaluate(model, "CartPole-v1", 0)
    # measured: 70.6 (seed 0); a random policy scores about 22
    assert mean > 50, f"DSQN did not learn CartPole-v1: mean eval return {mean:.0f}"


def test_ppo_spiking_policy_learns_cartpole_short(cartpole_ppo):
    from sb3_spiking import SpikingActorCriticPolicy

    model = cartpole_ppo(SpikingActorCriticPolicy)
    # Measured with the default (learnable) decoder, evaluated every 10k steps, seeds 0/1/2 (SB3
    # 2.9.2, gymnasium 1.4): 363/448/500/500/500, 498/235/467/500/500, 356/500/268/500/500; about
    # 60 s for 50k steps on 2 cores. (With the membrane decoder seed 0 read 109 at 30k steps.)
    model.learn(50_000)
    mean = _evaluate(model, "CartPole-v1", 0)
    assert mean > 150, f"PPO with SpikingActorCriticPolicy did not learn CartPole-v1: mean eval return {mean:.0f}"


IDENTITY_TASKS = {
    # SB3's identity-test settings (see benchmarks/identity.py)
    "MultiDiscrete": ("IdentityEnvMultiDiscrete", dict(gamma=0.4, learning_rate=0.002), 1200, 3),
    "MultiBinary": ("IdentityEnvMultiBinary", dict(gamma=0.4, learning_rate=0.002), 1200, 3),
    "Box": ("IdentityEnvBox", dict(learning_rate=1e-3), 1000, 0),
}


@pytest.mark.parametrize(
    "algo, task",
    # A2C on MultiDiscrete is left out: the spiking policy's weakest case (seeds 3 0 1 2 4: mean
    # 82 against the ANN's 99; seed 3 reads 76), see the README.
    [("PPO", "MultiDiscrete"), ("PPO", "MultiBinary"), ("PPO", "Box"), ("A2C", "MultiBinary"), ("A2C", "Box")],
)
def test_spiking_actor_critic_learns_sb3_identity_tasks(algo, task):
    """SB3's identity tasks with SB3's settings and seeds reach SB3's threshold of 90.

    Measured at these seeds with the default (learnable) decoder: PPO 100 / 94.4 / 94.5, A2C
    100 / 96.6; with the membrane decoder (the default before) 43.6 / 81.4 / 69.0, 76.2 / 97.3.
    """
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common import envs

    from sb3_spiking import SpikingActorCriticPolicy

    env_name, kwargs, steps, seed = IDENTITY_TASKS[task]
    env = getattr(envs, env_name)(4) if task != "Box" else envs.IdentityEnvBox(eps=0.5)
    extra = dict(n_epochs=4, n_steps=256) if algo == "PPO" else {}
    cls = {"PPO": PPO, "A2C": A2C}[algo]
    model = cls(SpikingActorCriticPolicy, env, seed=seed, device="cpu", **kwargs, **extra)
    model.learn(steps)
    mean, _ = evaluate_policy(model, env, n_eval_episodes=20, warn=False)
    assert mean >= 90, f"{algo}(SpikingActorCriticPolicy) on {env_name}: mean return {mean:.1f} < 90"


def test_spiking_sac_learns_pendulum_short():
    from sb3_spiking import SpikingSAC

    model = SpikingSAC(
        "MlpPolicy",
        "Pendulum-v1",
        learning_rate=1e-3,
        batch_size=128,
        policy_kwargs=dict(net_arch=[64, 64]),
        seed=0,
        device="cpu",
    )
    model.learn(6000)
    mean = _evaluate(model, "Pendulum-v1", 0)
    assert mean > -600, f"SpikingSAC did not learn Pendulum-v1: mean eval return {mean:.0f}"


def _qrdqn_cartpole_short(seed: int) -> float:
    from sb3_spiking import SpikingQRDQN

    # RL Zoo's QR-DQN CartPole settings (n_quantiles 10) with a smaller net, on a 20k-step budget
    model = SpikingQRDQN(
        "MlpPolicy",
        "CartPole-v1",
        learning_rate=2.3e-3,
        batch_size=64,
        buffer_size=100_000,
        learning_starts=1000,
        gamma=0.99,
        target_update_interval=10,
        train_freq=256,
        gradient_steps=128,
        exploration_fraction=0.16,
        exploration_final_eps=0.04,
        policy_kwargs=dict(net_arch=[64, 64], n_quantiles=10),
        seed=seed,
        device="cpu",
    )
    model.learn(20_000)
    return _evaluate(model, "CartPole-v1", seed)


def test_spiking_qrdqn_learns_cartpole_short():
    mean = _qrdqn_cartpole_short(0)
    # Measured (benchmarks/short_learning_seeds.py; seeds 0/1/2, 5 eval episodes): 134.4 / 134.0 / 184.2,
    # 43-49 s of CPU time each
    # (1 torch thread); a random policy scores about 22
    assert mean > 60, f"SpikingQRDQN did not learn CartPole-v1: mean eval return {mean:.0f}"


def _tqc_pendulum_short(seed: int) -> float:
    from sb3_spiking import SpikingTQC

    model = SpikingTQC(
        "MlpPolicy",
        "Pendulum-v1",
        learning_rate=1e-3,
        batch_size=128,
        policy_kwargs=dict(net_arch=[64, 64], n_quantiles=10),
        seed=seed,
        device="cpu",
    )
    model.learn(6000)
    return _evaluate(model, "Pendulum-v1", seed)


def test_spiking_tqc_learns_pendulum_short():
    mean = _tqc_pendulum_short(0)
    # Measured (benchmarks/short_learning_seeds.py; seeds 0/1/2, 5 eval episodes): -73.7 / -705.1 / -142.5,
    # 58-68 s of CPU time each
    # (1 torch thread). Seed 1 is still learning at 6k steps, hence the loose bound; a random
    # policy scores about -1200.
    assert mean > -900, f"SpikingTQC did not learn Pendulum-v1: mean eval return {mean:.0f}"
