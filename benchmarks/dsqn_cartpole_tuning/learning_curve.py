"""Learning curve of DSQN on CartPole-v1 with RL Zoo's DQN settings: 5 eval episodes every 5k steps.

    python benchmarks/dsqn_cartpole_tuning/learning_curve.py SEED LR STEPS   # README: 2 2.3e-3 80000

Settings from ``hyperparams/dsqn.yml`` with the given learning rate; the exploration fraction is
scaled so that epsilon reaches its final value after 8k steps, as in the zoo's 50k-step setting.
"""

from __future__ import annotations

import argparse
import os

import gymnasium as gym
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

from sb3_spiking import DSQN
from sb3_spiking.zoo.settings import zoo_kwargs

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class PrintEval(BaseCallback):
    def __init__(self, seed: int, every: int = 5000) -> None:
        super().__init__()
        self.seed, self.every = seed, every

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            env = Monitor(gym.make("CartPole-v1"))
            env.reset(seed=10_000 + self.seed)
            mean, _ = evaluate_policy(self.model, env, n_eval_episodes=5)
            print(self.num_timesteps, round(mean, 1), flush=True)
        return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("seed", type=int)
    parser.add_argument("learning_rate", type=float)
    parser.add_argument("steps", type=int)
    args = parser.parse_args()
    torch.set_num_threads(1)
    hp, _, _ = zoo_kwargs(os.path.join(REPO, "hyperparams", "dsqn.yml"), "CartPole-v1")  # zoo settings, T=5
    hp.update(learning_rate=args.learning_rate, exploration_fraction=hp["exploration_fraction"] * 50_000 / args.steps)
    model = DSQN("MlpPolicy", "CartPole-v1", seed=args.seed, device="cpu", **hp)
    model.learn(args.steps, callback=PrintEval(args.seed))


if __name__ == "__main__":
    main()
