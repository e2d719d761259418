"""Decision-transformer results: spiking vs ANN DT on Minari datasets (docs/decision_transformer.md).

Stages (each appends JSON lines to ``--out``; ``table`` prints the markdown tables from them):

    # 1. behaviour data: CartPole-v1 from a PPO trained with RL Zoo's settings (1e5 steps), then
    #    50k transitions with the ACSF recipe (probability 0.3 of a uniformly random action).
    #    Pendulum-v1 uses the offline module's TD3 dataset (created here if missing).
    python benchmarks/dt_results.py collect
    # 2. offline training, 3 seeds, ANN and spiking, evaluated with evaluate_policy (return-to-go
    #    decremented by the reward model) and with exact returns-to-go (true rewards)
    python benchmarks/dt_results.py train --env CartPole-v1 --seeds 0 1 2 --variants ann snn snn_sd
    python benchmarks/dt_results.py train --env Pendulum-v1 --seeds 0 1 2 --variants ann snn
    # 3. batch-1 predict latency (ANN and spiking in the same process, interleaved) and energy
    python benchmarks/dt_results.py latency --env CartPole-v1
    python benchmarks/dt_results.py latency --env Pendulum-v1
    python benchmarks/dt_results.py table

Everything runs single-threaded (``torch.set_num_threads(1)``), one process at a time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "benchmarks" / "dt_results.jsonl"

#: dataset id, behaviour recipe and training budget per environment
ENVS: dict[str, dict[str, Any]] = {
    "CartPole-v1": dict(dataset="cartpole/ppo-acsf-v0", steps=150, eval_episodes=10),
    "Pendulum-v1": dict(dataset="pendulum/td3-acsf-v0", steps=600, eval_episodes=10),
}

#: the compared models, as policy_kwargs
VARIANTS: dict[str, dict[str, Any]] = {
    "ann": dict(spiking=False),
    "snn": dict(),  # spiking, attention="softmax" over spike counts (the SNN-DT seed), T = 5
    "snn_sd": dict(attention="spike_driven"),  # spiking, softmax-free
}


def setup_process() -> None:
    """One thread; freed memory kept for reuse, for the ANN runs too (see docs/decision_transformer.md, "Speed")."""
    import torch

    from sb3_spiking.snn.allocator import keep_freed_memory

    torch.set_num_threads(1)
    keep_freed_memory()


def append(out: Path, row: dict[str, Any]) -> None:
    with open(out, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


# -- 1. behaviour data ----------------------------------------------------------------------
def zoo_ppo(env_id: str) -> tuple[dict[str, Any], int, int]:
    """RL Zoo's PPO settings for ``env_id`` as constructor kwargs, its step budget and n_envs."""
    from sb3_spiking.zoo.settings import zoo_file, zoo_kwargs

    return zoo_kwargs(zoo_file("ppo"), env_id)


def cmd_collect(args: argparse.Namespace) -> None:
    import minari
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    from sb3_spiking.offline import collect_dataset

    local = minari.list_local_datasets()
    cartpole = ENVS["CartPole-v1"]["dataset"]
    if cartpole not in local:
        hp, steps, n_envs = zoo_ppo("CartPole-v1")
        start = time.time()
        model = PPO("MlpPolicy", make_vec_env("CartPole-v1", n_envs=n_envs, seed=0), seed=0, device="cpu", **hp)
        model.learn(steps)
        train_s = time.time() - start
        mean, std = evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=1, seed=10_000), n_eval_episodes=10)
        dataset = collect_dataset(model, "CartPole-v1", args.n_steps, cartpole, seed=0, random_prob=0.3)
        returns = [float(np.sum(ep.rewards)) for ep in dataset.iterate_episodes()][:-1]
        append(
            args.out,
            {
                "stage": "collect",
                "env": "CartPole-v1",
                "dataset": cartpole,
                "behaviour": f"PPO, RL Zoo settings, {steps} steps ({train_s:.0f} s)",
                "behaviour_return": mean,
                "behaviour_std": std,
                "transitions": dataset.total_steps,
                "episodes": dataset.total_episodes,
                "dataset_return_mean": float(np.mean(returns)),
                "dataset_return_max": float(np.max(returns)),
            },
        )
    pendulum = ENVS["Pendulum-v1"]["dataset"]
    if pendulum not in local:
        # the offline module's recipe: TD3 with RL Zoo's settings (20k steps), 100k transitions
        cmd = [sys.executable, "-m", "sb3_spiking.offline", "collect", "--env", "Pendulum-v1", "--algo", "td3"]
        cmd += ["--n-steps", "100000", "--dataset-id", pendulum, "--seed", "0"]
        print(" ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, cwd=ROOT)
    for env_id, cfg in ENVS.items():
        dataset = minari.load_dataset(cfg["dataset"])
        returns = [float(np.sum(ep.rewards)) for ep in dataset.iterate_episodes()][:-1]
        print(
            f"{env_id}: {cfg['dataset']} {dataset.total_steps} transitions, {dataset.total_episodes} episodes, "
            f"return mean {np.mean(returns):.1f} max {np.max(returns):.1f}"
        )


# -- 2. offline training --------------------------------------------------------------------
def make_model(env_id: str, variant: str, seed: int, extra: dict[str, Any] | None = None) -> Any:
    from sb3_spiking import SpikingDecisionTransformer

    return SpikingDecisionTransformer(
        env_id,
        dataset=ENVS[env_id]["dataset"],
        policy_kwargs={**VARIANTS[variant], **(extra or {})},
        seed=seed,
        device="cpu",
    )


def cmd_train(args: argparse.Namespace) -> None:
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    from sb3_spiking.dt import evaluate_with_rewards

    cfg = ENVS[args.env]
    steps = args.steps or cfg["steps"]
    for seed in args.seeds:
        for variant in args.variants:
            model = make_model(args.env, variant, seed)
            start = time.time()
            model.learn(steps)
            train_s = time.time() - start
            # 10 episodes on 5 parallel envs (batched predict), the same seeds for both RTG modes
            env = make_vec_env(args.env, n_envs=5, seed=10_000 + seed)
            mean, std = evaluate_policy(model, env, n_eval_episodes=cfg["eval_episodes"])
            env = make_vec_env(args.env, n_envs=5, seed=10_000 + seed)
            exact_mean, exact_std = evaluate_with_rewards(model, env, n_eval_episodes=cfg["eval_episodes"])
            report = model.context_energy_report(256)
            if args.save_dir:
                model.save(Path(args.save_dir) / f"dt_{args.env}_{variant}_{seed}")
            append(
                args.out,
                {
                    "stage": "train",
                    "env": args.env,
                    "variant": variant,
                    "seed": seed,
                    "gradient_steps": steps,
                    "target_return": model.target_return,
                    "return_predicted_rtg": mean,
                    "std_predicted_rtg": std,
                    "return_exact_rtg": exact_mean,
                    "std_exact_rtg": exact_std,
                    "train_s": train_s,
                    "spikes": report["spikes"],
                    "firing_rate": report["firing_rate"],
                    "synaptic_ops": report["synaptic_ops"],
                    "macs": report["macs"],
                    "energy_j": report["energy_j"],
                    "ann_energy_j": report["ann_energy_j"],
                    "energy_ratio": report["energy_ratio"],
                },
            )


# -- 3. latency -----------------------------------------------------------------------------
def cmd_latency(args: argparse.Namespace) -> None:
    import gymnasium as gym

    models = {v: make_model(args.env, v, 0) for v in args.variants}
    for model in models.values():
        model.learn(1)  # a trained-looking state is irrelevant for timing; set everything up
    env = gym.make(args.env)
    # one shared trajectory of observations, replayed for every model (same contexts, same shapes)
    obs_seq, starts = [], []
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    new_episode = True
    for _ in range(args.decisions):
        obs_seq.append(obs)
        starts.append(new_episode)
        obs, _, term, trunc, _ = env.step(env.action_space.sample())
        new_episode = term or trunc
        if new_episode:
            obs, _ = env.reset()
    obs_arr = np.asarray(obs_seq, np.float32)
    times: dict[str, list[float]] = {v: [] for v in models}
    for _ in range(args.repeats):  # interleaved: the other processes' load hits every model alike
        for variant, model in models.items():
            state = None
            for i in range(len(obs_arr)):
                t = time.perf_counter()
                _, state = model.predict(obs_arr[i : i + 1], state, np.array([starts[i]]))
                times[variant].append(time.perf_counter() - t)
    medians = {v: float(np.median(t)) for v, t in times.items()}
    row = {"stage": "latency", "env": args.env, "context_len": 20, "decisions": args.decisions, "repeats": args.repeats}
    row.update({f"{v}_us": medians[v] * 1e6 for v in models})
    row.update({f"{v}_ratio": medians[v] / medians["ann"] for v in models if v != "ann" and "ann" in models})
    append(args.out, row)


# -- table ----------------------------------------------------------------------------------
def cmd_table(args: argparse.Namespace) -> None:
    rows = [json.loads(line) for line in open(args.out)] if Path(args.out).exists() else []
    for r in [r for r in rows if r["stage"] == "collect"]:
        print(
            f"{r['env']}: {r['dataset']} from {r['behaviour']} (return {r['behaviour_return']:.1f}), "
            f"{r['transitions']} transitions in {r['episodes']} episodes, episode return mean "
            f"{r['dataset_return_mean']:.1f}, max {r['dataset_return_max']:.1f}"
        )
    train = [r for r in rows if r["stage"] == "train"]
    for env_id in dict.fromkeys(r["env"] for r in train):
        sel_env = [r for r in train if r["env"] == env_id]
        print(
            f"\n### {env_id} ({sel_env[0]['gradient_steps']} gradient steps, target return {sel_env[0]['target_return']:g})\n"
        )
        print(
            "| model | return, RTG from reward model (`evaluate_policy`) | mean | return, exact RTG | mean "
            "| spikes / decision | firing rate | energy ratio | train s |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        means = {}
        for variant in VARIANTS:
            sel = sorted((r for r in sel_env if r["variant"] == variant), key=lambda r: r["seed"])
            if not sel:
                continue
            means[variant] = float(np.mean([r["return_predicted_rtg"] for r in sel]))
            predicted = " / ".join(f"{r['return_predicted_rtg']:.1f}" for r in sel)
            exact = " / ".join(f"{r['return_exact_rtg']:.1f}" for r in sel)
            seeds = ",".join(str(r["seed"]) for r in sel)
            print(
                f"| {variant} (seeds {seeds}) | {predicted} | **{means[variant]:.1f}** | {exact} "
                f"| {np.mean([r['return_exact_rtg'] for r in sel]):.1f} "
                f"| {np.mean([r['spikes'] for r in sel]):.0f} | {np.mean([r['firing_rate'] for r in sel]):.3f} "
                f"| {np.mean([r['energy_ratio'] for r in sel]):.3f} | {np.mean([r['train_s'] for r in sel]):.0f} |"
            )
        if "ann" in means:
            for variant, mean in means.items():
                if variant != "ann":
                    if means["ann"] > 0:
                        print(f"\n{variant} / ann mean return: {mean / means['ann']:.3f}")
                    else:  # negative returns (Pendulum): a ratio means nothing, give the difference
                        print(f"\n{variant} - ann mean return: {mean - means['ann']:+.1f}")
    lat = [r for r in rows if r["stage"] == "latency"]
    if lat:
        print("\n| env | batch-1 `predict` median, ANN | spiking (softmax) | ratio | spiking (spike-driven) | ratio |")
        print("|---|---|---|---|---|---|")
        for r in lat:
            print(
                f"| {r['env']} | {r.get('ann_us', float('nan')):.0f} us | {r.get('snn_us', float('nan')):.0f} us "
                f"| {r.get('snn_ratio', float('nan')):.2f}x | {r.get('snn_sd_us', float('nan')):.0f} us "
                f"| {r.get('snn_sd_ratio', float('nan')):.2f}x |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("collect")
    p.add_argument("--n-steps", type=int, default=50_000)
    p = sub.add_parser("train")
    p.add_argument("--env", choices=list(ENVS), required=True)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=["ann", "snn"])
    p.add_argument("--steps", type=int, default=0, help="gradient steps (default: per env)")
    p.add_argument("--save-dir")
    p = sub.add_parser("latency")
    p.add_argument("--env", choices=list(ENVS), default="CartPole-v1")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    p.add_argument("--decisions", type=int, default=200)
    p.add_argument("--repeats", type=int, default=5)
    sub.add_parser("table")
    for p in sub.choices.values():
        p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    setup_process()
    {"collect": cmd_collect, "train": cmd_train, "latency": cmd_latency, "table": cmd_table}[args.cmd](args)


if __name__ == "__main__":
    main()
