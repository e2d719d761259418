"""Spiking memory for a partially observed task: RecurrentPPO with a spiking actor on CartPoleNoVel-v1.

    python examples/recurrent_ppo_novel.py                  # RL Zoo's ppo_lstm settings, 100k steps
    python examples/recurrent_ppo_novel.py --timesteps 20000

CartPoleNoVel-v1 (registered by rl_zoo3) shows only the cart position and the pole angle: the
velocities must be remembered from step to step. Before (sb3-contrib, LSTM):

    model = RecurrentPPO("MlpLstmPolicy", env, ...)

After (the spiking actor's state carried between env steps, where the LSTM's went):

    from sb3_spiking import SpikingRecurrentActorCriticPolicy
    model = RecurrentPPO(SpikingRecurrentActorCriticPolicy, env, ..., policy_kwargs=dict(num_steps=2))
"""

import argparse

import numpy as np
import rl_zoo3.import_envs  # noqa: F401 (registers the velocity-masked *NoVel-v1 envs)
from rl_zoo3.utils import linear_schedule
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecNormalize
from torch import nn

from sb3_spiking import SpikingRecurrentActorCriticPolicy, energy_report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = VecNormalize(make_vec_env("CartPoleNoVel-v1", n_envs=8, seed=args.seed), gamma=0.98)
    model = RecurrentPPO(
        SpikingRecurrentActorCriticPolicy,  # <- the only change: was "MlpLstmPolicy"
        env,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        learning_rate=linear_schedule(1e-3),
        clip_range=linear_schedule(0.2),
        policy_kwargs=dict(
            ortho_init=False,
            activation_fn=nn.ReLU,
            lstm_hidden_size=64,  # the critic's ANN LSTM
            net_arch=dict(pi=[64], vf=[64]),  # pi: the spiking actor's hidden layer
            num_steps=2,  # SNN steps per env step
        ),
        seed=args.seed,
        device="cpu",
    )
    model.learn(args.timesteps, progress_bar=True)
    env.training, env.norm_reward = False, False
    mean, std = evaluate_policy(model, env, n_eval_episodes=10, deterministic=True)
    print(f"return {mean:.1f} +- {std:.1f}")

    # energy per decision, each decision in the state it was taken in
    obs, state, start = env.reset(), None, np.ones(env.num_envs, dtype=bool)
    _, state = model.predict(obs, state=state, episode_start=start, deterministic=True)
    report = energy_report(model, obs, state=state, episode_start=np.zeros(env.num_envs))
    print(f"energy per decision {report['energy_j']:.3g} J ({report['energy_ratio']:.2f} x the same-shape ANN)")


if __name__ == "__main__":
    main()
