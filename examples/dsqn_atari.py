"""DSQN on an Atari game with SB3's Atari wrappers: spiking Nature CNN, pixels as direct input.

    python examples/dsqn_atari.py --timesteps 5000            # CPU smoke run (a few minutes)
    python examples/dsqn_atari.py --timesteps 10000000 --device cuda   # a real run (GPU)

Settings are RL Zoo's DQN Atari settings (buffer 1e5, lr 1e-4, batch 32, train every 4 steps,
target sync every 1000 steps, eps 1 -> 0.01 over 10% of training) with Chen et al.'s spiking
Q-network: T=8, Q-values = max over time of non-spiking output membranes.
"""

import argparse

import ale_py  # noqa: F401  (registers the ALE environments with Gymnasium)
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecFrameStack

from sb3_spiking import DSQN, SpikeStatsCallback, energy_report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--env", default="PongNoFrameskip-v4")
    parser.add_argument("--timesteps", type=int, default=5000)
    parser.add_argument("--num-steps", type=int, default=8, help="T")
    parser.add_argument("--decoder", default="membrane", choices=["membrane", "rate"])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = VecFrameStack(make_atari_env(args.env, n_envs=1, seed=args.seed), n_stack=4)
    model = DSQN(
        "CnnPolicy",
        env,
        buffer_size=100_000,
        learning_rate=1e-4,
        batch_size=32,
        learning_starts=min(100_000, args.timesteps // 2),
        target_update_interval=1000,
        train_freq=4,
        gradient_steps=1,
        exploration_fraction=0.1,
        exploration_final_eps=0.01,
        optimize_memory_usage=True,
        replay_buffer_kwargs=dict(handle_timeout_termination=False),
        policy_kwargs=dict(num_steps=args.num_steps, decoder=args.decoder),
        device=args.device,
        seed=args.seed,
        verbose=1,
    )
    print(model.q_net)
    model.learn(args.timesteps, callback=SpikeStatsCallback(log_freq=1000, n_samples=64), progress_bar=True)

    eval_env = VecFrameStack(make_atari_env(args.env, n_envs=1, seed=args.seed + 100), n_stack=4)
    mean, _std = evaluate_policy(model, eval_env, n_eval_episodes=1)
    print(f"eval return (1 episode): {mean:.1f}")

    obs = model.replay_buffer.sample(64).observations.cpu().numpy()
    report = energy_report(model, obs)
    print("energy report (per decision):")
    for key in ("firing_rate", "spikes", "synaptic_ops", "macs", "energy_j", "ann_energy_j", "energy_ratio"):
        print(f"  {key:>13}: {report[key]:.4g}")


if __name__ == "__main__":
    main()
