"""Throughput of DSQN vs SB3's DQN on Atari (Nature CNN), measured in the same run.

    python benchmarks/dsqn_speed.py                          # CPU, T=8 and T=64
    python benchmarks/dsqn_speed.py --device cuda --threads 8  # on a GPU machine

For each model (DQN, then DSQN at each T): fill the replay buffer with ``learning_starts`` frames
of PongNoFrameskip-v4 (SB3's Atari wrappers, 4 stacked frames), then time (1) gradient steps
(``model.train``, batch 32 as in the Nature DQN) and (2) batch-1 ``model.predict``. Timed chunks
of all models are interleaved so that machine drift hits every model alike; medians and the
ratios to DQN are printed as a Markdown table. A DQN update every 4 env steps makes the
gradient-step ratio the end-to-end training ratio once the env is cheap next to the network.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from stable_baselines3 import DQN
from stable_baselines3.common.env_util import make_atari_env
from stable_baselines3.common.vec_env import VecFrameStack

from sb3_spiking import DSQN


def make_env(env_id: str, seed: int):
    import ale_py  # noqa: F401  (registers the ALE environments with Gymnasium)

    return VecFrameStack(make_atari_env(env_id, n_envs=1, seed=seed), n_stack=4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="PongNoFrameskip-v4")
    parser.add_argument("--num-steps", type=int, nargs="+", default=[8, 64], help="values of T to compare")
    parser.add_argument("--decoder", default="membrane")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--learning-starts", type=int, default=300)
    parser.add_argument("--grad-steps", type=int, default=5, help="gradient steps per timed chunk")
    parser.add_argument("--predict-calls", type=int, default=20, help="predict calls per timed chunk")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    common = dict(
        buffer_size=args.learning_starts + 100,
        learning_starts=args.learning_starts,
        batch_size=args.batch_size,
        optimize_memory_usage=True,
        replay_buffer_kwargs=dict(handle_timeout_termination=False),
        seed=0,
        device=args.device,
    )
    models = {"DQN (ANN)": DQN("CnnPolicy", make_env(args.env, 0), **common)}
    for steps in args.num_steps:
        kwargs = dict(num_steps=steps, decoder=args.decoder)
        models[f"DSQN T={steps}"] = DSQN("CnnPolicy", make_env(args.env, 0), policy_kwargs=kwargs, **common)
    obs = None
    for model in models.values():
        model.learn(args.learning_starts + 4)  # fill the buffer, one update
        model.train(gradient_steps=2, batch_size=args.batch_size)  # warm-up
        obs = model.env.reset()

    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    train: dict[str, list[float]] = {name: [] for name in models}
    predict: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            sync()
            start = time.perf_counter()
            model.train(gradient_steps=args.grad_steps, batch_size=args.batch_size)
            sync()
            train[name].append(args.grad_steps / (time.perf_counter() - start))
            start = time.perf_counter()
            for _ in range(args.predict_calls):
                model.predict(obs, deterministic=True)
            predict[name].append((time.perf_counter() - start) / args.predict_calls * 1e3)

    ann = "DQN (ANN)"
    g = {n: statistics.median(v) for n, v in train.items()}
    p = {n: statistics.median(v) for n, v in predict.items()}
    device = torch.cuda.get_device_name() if args.device.startswith("cuda") else f"CPU, {args.threads} thread(s)"
    print(f"\n{args.env}, Nature CNN, batch {args.batch_size}, decoder {args.decoder}, {device}, torch {torch.__version__}\n")
    print("| model | gradient steps/s | train cost vs DQN | `predict` batch 1 (ms) | predict cost vs DQN |")
    print("|---|---|---|---|---|")
    for name in models:
        print(f"| {name} | {g[name]:.1f} | **{g[ann] / g[name]:.2f}x** | {p[name]:.2f} | **{p[name] / p[ann]:.2f}x** |")


if __name__ == "__main__":
    main()
