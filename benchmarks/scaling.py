"""How the cost of a SpikingTD3 actor update grows with T (``num_steps``), against SB3's TD3.

    python benchmarks/scaling.py                         # writes docs/scaling.png
    python benchmarks/scaling.py --num-steps 1 2 4 8 --out /tmp/scaling.png

One actor update as TD3 does it (actor forward at batch 256, critic Q1 on its actions,
backward, Adam step), net [256, 256], Pendulum-v1 shapes, 1 torch thread. Every T and the ANN
are timed in interleaved chunks (machine drift hits all alike); medians are printed as a table
and plotted with two references:

- *linear*: T x the cost at T=1, what a per-step loop that redoes everything each step costs;
- *proportional to MACs*: the ANN's measured time scaled by the multiply-accumulate count of the
  spiking update (first layer once, later layers on T*B rows; backward = 2x forward), i.e. the
  time if every cost grew with the matrix products (fixed per-update costs make the real curve
  lower at small T).
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import time

import torch
from stable_baselines3 import TD3

from sb3_spiking import SpikingTD3


def actor_update(model: TD3, obs: torch.Tensor):
    actor, critic = model.policy.actor, model.policy.critic

    def step() -> None:
        actor.optimizer.zero_grad()
        loss = -critic.q1_forward(obs, actor(obs)).mean()
        loss.backward()
        actor.optimizer.step()

    return step


def macs(obs_dim: int, act_dim: int, net: list[int], steps: int | None) -> float:
    """Multiply-accumulates of one actor update (forward x 3 for forward + backward)."""
    sizes = [obs_dim, *net, act_dim]
    layers = [a * b for a, b in itertools.pairwise(sizes)]
    actor = layers[0] + (steps or 1) * sum(layers[1:])  # direct coding: first layer once
    critic_sizes = [obs_dim + act_dim, *net, 1]
    critic = sum(a * b for a, b in itertools.pairwise(critic_sizes))
    return 3.0 * (actor + critic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-steps", type=int, nargs="+", default=[1, 2, 4, 8, 16, 32, 64])
    parser.add_argument("--net-arch", type=int, nargs="+", default=[256, 256])
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=20, help="updates per timed chunk")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "docs", "scaling.png"))
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    common = dict(policy_kwargs=dict(net_arch=args.net_arch), device="cpu", seed=0)
    models: dict[str, TD3] = {"TD3 (ANN)": TD3("MlpPolicy", "Pendulum-v1", **common)}
    for steps in args.num_steps:
        kwargs = dict(common, policy_kwargs=dict(net_arch=args.net_arch, num_steps=steps))
        models[f"T={steps}"] = SpikingTD3("MlpPolicy", "Pendulum-v1", **kwargs)
    obs = torch.randn(args.batch_size, 3)
    steps_fn = {name: actor_update(model, obs) for name, model in models.items()}
    for fn in steps_fn.values():  # warm-up
        for _ in range(3):
            fn()
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, fn in steps_fn.items():
            start = time.perf_counter()
            for _ in range(args.chunk):
                fn()
            times[name].append((time.perf_counter() - start) / args.chunk * 1e3)
    med = {name: statistics.median(v) for name, v in times.items()}

    ann = med["TD3 (ANN)"]
    ann_macs = macs(3, 1, args.net_arch, None)
    t1 = med.get("T=1")
    print(
        f"\nSpikingTD3 actor update, net {args.net_arch}, batch {args.batch_size}, "
        f"{args.threads} thread(s), torch {torch.__version__}\n"
    )
    print("| T | time (ms) | vs ANN | vs T=1 | MAC ratio vs ANN |")
    print("|---|---|---|---|---|")
    print(f"| ANN | {ann:.2f} | 1.00x | | 1.00x |")
    rows = []
    for steps in args.num_steps:
        t = med[f"T={steps}"]
        floor = macs(3, 1, args.net_arch, steps) / ann_macs
        rows.append((steps, t, floor))
        rel1 = f"{t / t1:.2f}x" if t1 else ""
        print(f"| {steps} | {t:.2f} | {t / ann:.2f}x | {rel1} | {floor:.2f}x |")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = [r[0] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    ax.plot(ts, [r[1] for r in rows], "o-", label="SpikingTD3 (measured)")
    ax.plot(ts, [r[2] * ann for r in rows], "--", label="proportional to MACs (ANN time x MAC ratio)")
    if t1:
        ax.plot(ts, [t1 * s for s in ts], ":", label="linear: T x cost(T=1)")
    ax.axhline(ann, color="gray", lw=1, label="TD3 (ANN)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("T (num_steps)")
    ax.set_ylabel("actor update (ms)")
    ax.set_title(f"Actor update cost vs T (net {args.net_arch}, batch {args.batch_size}, CPU 1 thread)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"\nplot: {os.path.abspath(args.out)}")


if __name__ == "__main__":
    main()
