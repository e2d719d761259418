"""Speed of SpikingTD3 vs SB3's TD3, measured in the same run.

    python benchmarks/speed.py                      # default spiking options
    python benchmarks/speed.py --options '{"encoder": "direct", "decoder": "membrane"}'

For each model: warm up (fill the replay buffer, then train a while), then time repeated chunks
of ``learn`` (one env step + one gradient step per step, as TD3 does) and of batch-1
``model.predict``. Chunks of the two models are interleaved so that machine drift hits both;
the medians and their ratio are printed as a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import torch
from stable_baselines3 import TD3

from sb3_spiking import SpikingTD3


def make_models(args: argparse.Namespace) -> dict[str, TD3]:
    common = dict(
        learning_starts=args.learning_starts,
        batch_size=args.batch_size,
        seed=0,
        device="cpu",
        policy_kwargs=dict(net_arch=args.net_arch),
    )
    spiking_kwargs = dict(common["policy_kwargs"], num_steps=args.num_steps, **json.loads(args.options))
    return {
        "TD3 (ANN)": TD3("MlpPolicy", args.env, **common),
        "SpikingTD3": SpikingTD3("MlpPolicy", args.env, **{**common, "policy_kwargs": spiking_kwargs}),
    }


def time_learn(model: TD3, steps: int) -> float:
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start)


def time_predict(model: TD3, obs: np.ndarray, calls: int) -> float:
    for _ in range(20):
        model.predict(obs, deterministic=True)
    start = time.perf_counter()
    for _ in range(calls):
        model.predict(obs, deterministic=True)
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--net-arch", type=int, nargs="+", default=[256, 256])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--num-steps", type=int, default=5, help="T of the spiking actor")
    parser.add_argument("--options", default="{}", help="extra spiking policy_kwargs as JSON")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--learning-starts", type=int, default=1000)
    parser.add_argument("--warmup", type=int, default=1500, help="env steps before timing (incl. learning_starts)")
    parser.add_argument("--chunk", type=int, default=500, help="env steps per timed learn chunk")
    parser.add_argument("--predict-calls", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    models = make_models(args)
    obs = models["TD3 (ANN)"].env.observation_space.sample()[None]
    for model in models.values():
        model.learn(args.warmup)

    train: dict[str, list[float]] = {name: [] for name in models}
    predict: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            train[name].append(time_learn(model, args.chunk))
            predict[name].append(time_predict(model, obs, args.predict_calls // args.repeats))

    ann, snn = "TD3 (ANN)", "SpikingTD3"
    med = {k: {n: statistics.median(v[n]) for n in models} for k, v in (("train", train), ("predict", predict))}
    print(
        f"\n{args.env}, net {args.net_arch}, batch {args.batch_size}, T={args.num_steps}, "
        f"{args.threads} torch thread(s), options {args.options}, torch {torch.__version__}\n"
    )
    print("| measurement | TD3 (ANN) | SpikingTD3 | ratio (SNN cost / ANN cost) |")
    print("|---|---|---|---|")
    print(
        f"| training steps/s (median of {args.repeats} x {args.chunk}) | {med['train'][ann]:.0f} | "
        f"{med['train'][snn]:.0f} | **{med['train'][ann] / med['train'][snn]:.2f}x** |"
    )
    print(
        f"| `model.predict` batch 1 (us) | {med['predict'][ann]:.0f} | {med['predict'][snn]:.0f} | "
        f"**{med['predict'][snn] / med['predict'][ann]:.2f}x** |"
    )


if __name__ == "__main__":
    main()
