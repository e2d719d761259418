"""Speed of the spiking agents vs their SB3 ANN baselines, measured in the same run.

    python benchmarks/speed.py                      # every section, default spiking options
    python benchmarks/speed.py --sections td3 ppo   # some sections only
    python benchmarks/speed.py --options '{"encoder": "direct", "decoder": "membrane"}'

Sections (each prints rows of one Markdown table, ratio = spiking cost / ANN cost):

- ``td3``: SpikingTD3 vs TD3, steady-state training steps/s and batch-1 ``predict`` (below);
- ``ppo``: PPO + SpikingActorCriticPolicy vs PPO, CartPole-v1, ``learn`` steps/s (RL Zoo's
  CartPole settings: 8 envs, n_steps 32, batch 256, 20 epochs);
- ``dsqn``: DSQN (T=8) vs DQN gradient steps/s, PongNoFrameskip-v4, CPU (``dsqn_speed.py`` has
  the full comparison, T=64 and ``--device cuda`` included);
- ``memory``: one DSQN training step at T=8 vs DQN: bytes autograd keeps for the backward and
  the number of autograd graph nodes (a per-time-step Python loop would leave O(T) nodes);
- ``import``: wall time of ``import sb3_spiking`` and of ``from sb3_spiking import SpikingTD3``
  in a fresh interpreter (minus ``python -c pass``), next to the same imports from SB3.

For each model: warm up (fill the replay buffer, then train a while), then time repeated chunks
of ``learn`` (one env step + one gradient step per step, as TD3 does) and of batch-1
``model.predict``. Chunks of the two models are interleaved so that machine drift hits both;
the medians and their ratio are printed as a Markdown table, with the range of the ratio over
adjacent chunk pairs (on a shared 2-core VM one pair can sit 15% either side of the median).
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


def pair_spread(ann_rates: list[float], snn_rates: list[float]) -> str:
    """Range of the ratio over adjacent (ANN, spiking) chunk pairs: how much one short run can
    move on this machine, printed next to the ratio of medians."""
    ratios = [a / s for a, s in zip(ann_rates, snn_rates, strict=False)]
    return f"(chunk pairs {min(ratios):.2f}-{max(ratios):.2f})"


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


def ppo_rows(args: argparse.Namespace) -> list[str]:
    from stable_baselines3 import PPO

    from sb3_spiking import SpikingActorCriticPolicy

    def make(policy):
        kw = dict(n_steps=32, batch_size=256, n_epochs=20, gae_lambda=0.8, gamma=0.98, ent_coef=0.0, seed=0, device="cpu")
        from stable_baselines3.common.env_util import make_vec_env

        env = make_vec_env("CartPole-v1", n_envs=8, seed=0)
        kwargs = dict(num_steps=args.num_steps, **json.loads(args.options)) if policy != "MlpPolicy" else {}
        return PPO(policy, env, policy_kwargs=kwargs, **kw)

    models = {"PPO (ANN)": make("MlpPolicy"), "PPO + SpikingActorCriticPolicy": make(SpikingActorCriticPolicy)}
    for model in models.values():
        model.learn(2048)
    rates: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            rates[name].append(time_learn(model, 2048))
    ann, snn = (statistics.median(rates[n]) for n in models)
    spread = pair_spread(*rates.values())
    label = f"PPO CartPole-v1 `learn` steps/s (8 envs, median of {args.repeats} x 2048)"
    return [f"| {label} | {ann:.0f} | {snn:.0f} | **{ann / snn:.2f}x** {spread} |"]


def dsqn_rows(args: argparse.Namespace) -> list[str]:
    from dsqn_speed import make_env  # benchmarks/ is on sys.path when run as a script
    from stable_baselines3 import DQN

    from sb3_spiking import DSQN

    common = dict(
        buffer_size=400,
        learning_starts=300,
        batch_size=32,
        optimize_memory_usage=True,
        replay_buffer_kwargs=dict(handle_timeout_termination=False),
        seed=0,
        device="cpu",
    )
    models = {
        "DQN": DQN("CnnPolicy", make_env("PongNoFrameskip-v4", 0), **common),
        "DSQN": DSQN("CnnPolicy", make_env("PongNoFrameskip-v4", 0), policy_kwargs=dict(num_steps=8), **common),
    }
    for model in models.values():
        model.learn(304)
        model.train(gradient_steps=2, batch_size=32)
    rates: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(args.repeats):
        for name, model in models.items():
            start = time.perf_counter()
            model.train(gradient_steps=3, batch_size=32)
            rates[name].append(3 / (time.perf_counter() - start))
    ann, snn = (statistics.median(rates[n]) for n in models)
    return [f"| DSQN (T=8) / DQN gradient steps/s, Pong, batch 32, CPU | {ann:.2f} | {snn:.2f} | **{ann / snn:.2f}x** |"]


def graph_stats(model, obs: torch.Tensor) -> tuple[int, int]:
    """(bytes saved for backward, autograd nodes) of one TD loss forward of ``model``'s Q-network."""
    saved = [0]

    def pack(t: torch.Tensor):
        saved[0] += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model.policy.q_net(obs).max(dim=1).values.mean()
    nodes, stack, seen = 0, [loss.grad_fn], set()
    while stack:
        fn = stack.pop()
        if fn is None or fn in seen:
            continue
        seen.add(fn)
        nodes += 1
        stack.extend(f for f, _ in fn.next_functions)
    return saved[0], nodes


def memory_rows(args: argparse.Namespace) -> list[str]:
    from dsqn_speed import make_env
    from stable_baselines3 import DQN

    from sb3_spiking import DSQN

    env = make_env("PongNoFrameskip-v4", 0)
    obs = torch.as_tensor(env.observation_space.sample()[None].repeat(32, 0)).permute(0, 3, 1, 2).float() / 255.0
    common = dict(buffer_size=100, learning_starts=100, device="cpu", seed=0)
    dqn = DQN("CnnPolicy", env, **common)
    rows = []
    base = graph_stats(dqn, obs)
    for steps in (8, 64):
        dsqn = DSQN("CnnPolicy", make_env("PongNoFrameskip-v4", 0), policy_kwargs=dict(num_steps=steps), **common)
        mem, nodes = graph_stats(dsqn, obs)
        rows.append(
            f"| memory kept for backward, one batch-32 Q forward, T={steps} (MB; autograd nodes) | "
            f"{base[0] / 1e6:.1f} ({base[1]}) | {mem / 1e6:.1f} ({nodes}) | **{mem / base[0]:.2f}x** |"
        )
    return rows


def import_rows(args: argparse.Namespace) -> list[str]:
    """Interpreter wall time for an import statement, minus ``python -c pass`` (median of 5)."""
    import subprocess
    import sys

    def wall(stmt: str) -> float:
        runs = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", stmt], check=True)
            runs.append(time.perf_counter() - start)
        return statistics.median(runs)

    base = wall("pass")
    return [
        f"| import time (s): `import sb3_spiking`; ANN column: `import stable_baselines3` | "
        f"{wall('import stable_baselines3') - base:.2f} | {wall('import sb3_spiking') - base:.2f} | |",
        f"| import time (s): `from sb3_spiking import SpikingTD3`; ANN column: `from stable_baselines3 import TD3` | "
        f"{wall('from stable_baselines3 import TD3') - base:.2f} | "
        f"{wall('from sb3_spiking import SpikingTD3') - base:.2f} | |",
    ]


def td3_rows(args: argparse.Namespace) -> list[str]:
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
    return [
        f"| SpikingTD3 / TD3 training steps/s, {args.env}, net {args.net_arch}, batch {args.batch_size} "
        f"(median of {args.repeats} x {args.chunk}) | {med['train'][ann]:.0f} | "
        f"{med['train'][snn]:.0f} | **{med['train'][ann] / med['train'][snn]:.2f}x** {pair_spread(train[ann], train[snn])} |",
        f"| `model.predict` batch 1, same models (us) | {med['predict'][ann]:.0f} | {med['predict'][snn]:.0f} | "
        f"**{med['predict'][snn] / med['predict'][ann]:.2f}x** |",
    ]


SECTIONS = {"td3": td3_rows, "ppo": ppo_rows, "dsqn": dsqn_rows, "memory": memory_rows, "import": import_rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
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
    rows = []
    for section in args.sections:
        rows += SECTIONS[section](args)
    print(f"\nT={args.num_steps}, {args.threads} torch thread(s), options {args.options}, torch {torch.__version__}\n")
    print("| measurement | ANN | spiking | ratio (spiking cost / ANN cost) |")
    print("|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
