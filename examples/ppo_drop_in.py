"""The one-line swap: an existing SB3 PPO script, made spiking.

    python examples/ppo_drop_in.py                 # CartPole-v1, RL Zoo's PPO settings, 100k steps
    python examples/ppo_drop_in.py --timesteps 20000

Before (plain SB3):

    model = PPO("MlpPolicy", env, ...)

After (spiking actor, everything else unchanged):

    from sb3_spiking import SpikingActorCriticPolicy
    model = PPO(SpikingActorCriticPolicy, env, ..., policy_kwargs=dict(num_steps=5))
"""

import argparse

from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy

from sb3_spiking import SpikingActorCriticPolicy, energy_report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--timesteps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = make_vec_env("CartPole-v1", n_envs=8, seed=args.seed)
    model = PPO(
        SpikingActorCriticPolicy,  # <- the only change: was "MlpPolicy"
        env,
        n_steps=32,
        batch_size=256,
        gae_lambda=0.8,
        gamma=0.98,
        n_epochs=20,
        ent_coef=0.0,
        learning_rate=lambda progress: 1e-3 * progress,
        clip_range=lambda progress: 0.2 * progress,
        policy_kwargs=dict(num_steps=5),  # spiking options (README table); SB3's own keys still work
        seed=args.seed,
        verbose=0,
    )
    model.learn(args.timesteps, progress_bar=True)
    mean, std = evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=1, seed=1000 + args.seed), n_eval_episodes=10)
    print(f"mean eval return over 10 episodes: {mean:.1f} +/- {std:.1f}")

    obs = env.reset()
    report = energy_report(model, obs)
    print(
        f"actor: firing rate {report['firing_rate']:.3f}, {report['synaptic_ops']:.0f} synaptic ops and "
        f"{report['macs']:.0f} MACs per decision; energy {report['energy_ratio']:.2f}x the same-shape ANN's"
    )


if __name__ == "__main__":
    main()
