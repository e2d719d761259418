"""Train DSQN (a spiking Q-network) on CartPole-v1, evaluate, save/load, and print its energy report.

    python examples/dsqn_cartpole.py                  # settings from hyperparams/dsqn.yml
    python examples/dsqn_cartpole.py --decoder rate   # Liu et al.'s rate readout instead

The settings are this repository's tuned DSQN settings for CartPole-v1 (hyperparams/dsqn.yml,
the same file the RL Zoo plugin reads; training stops once a 5-episode evaluation returns 500);
the README's learning table was produced with them.
"""

import argparse
import os
import tempfile

import gymnasium as gym
import numpy as np
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

from sb3_spiking import DSQN, energy_report
from sb3_spiking.zoo import settings

HYPERPARAMS = os.path.join(os.path.dirname(__file__), "..", "hyperparams", "dsqn.yml")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timesteps", type=int, default=None, help="default: the tuned budget")
    parser.add_argument("--decoder", default=None, choices=["membrane", "rate", "learnable", "population"])
    args = parser.parse_args()

    # RL Zoo's reading of the entry: constructor kwargs (policy_kwargs string evaluated), budget,
    # and the callbacks its `callback:` key names (StopTrainingWhenSolved here).
    hp, budget, _ = settings.zoo_kwargs(HYPERPARAMS, "CartPole-v1")
    callbacks = settings.zoo_callbacks(HYPERPARAMS, "CartPole-v1")
    if args.decoder:
        hp["policy_kwargs"]["decoder"] = args.decoder

    model = DSQN("MlpPolicy", "CartPole-v1", seed=args.seed, **hp)
    print(model.q_net)
    model.learn(args.timesteps or budget, callback=callbacks, progress_bar=True)
    print(f"trained for {model.num_timesteps} environment steps")

    eval_env = Monitor(gym.make("CartPole-v1"))
    mean, std = evaluate_policy(model, eval_env, n_eval_episodes=10)
    print(f"mean eval return over 10 episodes: {mean:.1f} +/- {std:.1f}")

    path = os.path.join(tempfile.mkdtemp(), "dsqn_cartpole.zip")
    model.save(path)
    loaded = DSQN.load(path)
    obs = np.stack([eval_env.observation_space.sample() for _ in range(256)])
    assert np.array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])
    print(f"saved to {path} and reloaded: identical actions")

    report = energy_report(loaded, obs)
    for key in ("firing_rate", "spikes", "synaptic_ops", "macs", "energy_j", "ann_energy_j", "energy_ratio"):
        print(f"  {key:>13}: {report[key]:.4g}")


if __name__ == "__main__":
    main()
