"""Train a spiking TD3 agent on Pendulum-v1, evaluate it, save/load it, and print its energy report.

    python examples/spiking_td3_pendulum.py                 # ~20k steps, a few minutes on a laptop CPU
    python examples/spiking_td3_pendulum.py --timesteps 2000  # quick smoke run

Settings are RL Zoo's TD3 settings for Pendulum-v1; the actor is a spiking network with the
package's default options (see the README's option table).
"""

import argparse
import os
import tempfile

import gymnasium as gym
import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise

from sb3_spiking import SpikeStatsCallback, SpikingTD3, energy_report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = gym.make("Pendulum-v1")
    model = SpikingTD3(
        "MlpPolicy",
        env,
        learning_rate=1e-3,
        gamma=0.98,
        buffer_size=200_000,
        learning_starts=min(10_000, args.timesteps // 2),
        action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)),
        policy_kwargs=dict(net_arch=[400, 300], num_steps=5),  # spiking options go here
        seed=args.seed,
        verbose=0,
    )
    print(model.policy.actor)
    model.learn(args.timesteps, callback=SpikeStatsCallback(log_freq=1000), progress_bar=True)

    eval_env = Monitor(gym.make("Pendulum-v1"))
    mean, std = evaluate_policy(model, eval_env, n_eval_episodes=10)
    print(f"mean eval return over 10 episodes: {mean:.1f} +/- {std:.1f}")

    path = os.path.join(tempfile.mkdtemp(), "spiking_td3_pendulum.zip")
    model.save(path)
    loaded = SpikingTD3.load(path)
    obs = np.stack([eval_env.observation_space.sample() for _ in range(256)])
    assert np.array_equal(model.predict(obs)[0], loaded.predict(obs)[0]), "save/load changed the policy"
    print(f"saved to {path} and reloaded: identical actions")

    report = energy_report(loaded, obs)
    print("energy report (per decision):")
    for key in ("firing_rate", "spikes", "synaptic_ops", "macs", "energy_j", "ann_energy_j", "energy_ratio"):
        print(f"  {key:>13}: {report[key]:.4g}")


if __name__ == "__main__":
    main()
