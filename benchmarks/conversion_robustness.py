"""ANN-to-SNN conversion and FGSM robustness on CartPole-v1: DQN, its converted SNN, and DSQN.

    python benchmarks/conversion_robustness.py --seeds 0 1 2 --jobs 2 --out-dir runs/conversion_robustness

1. **Train** (skipped for models already in ``--out-dir``): SB3 DQN with RL Zoo's own
   ``dqn.yml`` CartPole-v1 settings and DSQN with ``hyperparams/dsqn.yml`` (the same settings,
   T=5, membrane readout), one per seed.
2. **Convert** each DQN at every T of ``--num-steps`` (``conversion_sweep`` of
   ``python -m sb3_spiking.convert``: 10k calibration frames at epsilon 0.05, the last 20% held
   out for the agreement; ``--n-episodes`` deterministic episodes per T; energy per decision from
   ``energy_report`` on 256 held-out frames).
3. **FGSM**: ``fgsm_evaluate`` for the DQN, the DSQN and (``--fgsm-num-steps``, 0 to skip) the
   DQN converted at that T, over ``--epsilons``, ``--fgsm-episodes`` episodes each, the same
   episode seeds (``10_000 + seed``) for every model and epsilon.

Prints Markdown tables (per seed and mean over seeds), writes ``results.json`` to ``--out-dir``
and two PNGs to ``--plots`` (``conversion_agreement.png``, ``fgsm_cartpole.png``).
Every process runs one torch thread; ``--jobs`` processes run side by side.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))
from learning import zoo_file  # noqa: E402 (benchmarks/ on sys.path first)

from sb3_spiking.zoo.settings import zoo_kwargs  # noqa: E402

ENV_ID = "CartPole-v1"
FGSM_SEED_OFFSET = 10_000


def _settings(algo: str) -> tuple[dict[str, Any], int]:
    """(constructor kwargs, n_timesteps): RL Zoo's DQN entry, or ours for DSQN."""
    path = zoo_file("dqn") if algo == "dqn" else str(REPO / "hyperparams" / "dsqn.yml")
    hp, n_timesteps, _ = zoo_kwargs(path, ENV_ID)
    return hp, n_timesteps


def _algo(algo: str):
    from stable_baselines3 import DQN

    from sb3_spiking import DSQN

    return DQN if algo == "dqn" else DSQN


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def train(job: dict[str, Any]) -> dict[str, Any]:
    """Train one (algo, seed) and save it as ``<out>/<algo>_seed<seed>.zip``."""
    path = Path(job["out"]) / f"{job['algo']}_seed{job['seed']}.zip"
    if path.exists():
        return {**job, "path": str(path), "train_seconds": None}
    hp, zoo_steps = _settings(job["algo"])
    n_timesteps = int(job.get("n_timesteps") or zoo_steps)
    model = _algo(job["algo"])("MlpPolicy", ENV_ID, seed=job["seed"], device="cpu", **hp)
    start = time.perf_counter()
    model.learn(n_timesteps)
    model.save(path)
    return {**job, "path": str(path), "train_seconds": time.perf_counter() - start}


def convert(job: dict[str, Any]) -> dict[str, Any]:
    """Conversion sweep over T for one seed's DQN."""
    from stable_baselines3 import DQN

    from sb3_spiking.convert import conversion_sweep

    model = DQN.load(Path(job["out"]) / f"dqn_seed{job['seed']}.zip", device="cpu")
    start = time.perf_counter()
    rows = conversion_sweep(model, ENV_ID, job["num_steps"], n_episodes=job["n_episodes"], seed=job["seed"])
    return {**job, "rows": rows, "seconds": time.perf_counter() - start}


def fgsm(job: dict[str, Any]) -> dict[str, Any]:
    """FGSM curve of one model (``dqn``, ``dsqn`` or ``converted``) of one seed."""
    from sb3_spiking.conversion import convert_dqn
    from sb3_spiking.robustness import fgsm_evaluate

    kind, seed = job["kind"], job["seed"]
    model = _algo("dqn" if kind == "converted" else kind).load(
        Path(job["out"]) / f"{'dqn' if kind == 'converted' else kind}_seed{seed}.zip", device="cpu"
    )
    if kind == "converted":
        from sb3_spiking.common.envs import make_eval_env

        model = convert_dqn(model, make_eval_env(ENV_ID, seed), num_steps=job["fgsm_num_steps"], seed=seed)
    start = time.perf_counter()
    returns = fgsm_evaluate(
        model, ENV_ID, job["epsilons"], job["episodes"], seed=FGSM_SEED_OFFSET + seed, return_episode_rewards=True
    )
    return {**job, "returns": {str(k): v for k, v in returns.items()}, "seconds": time.perf_counter() - start}


def _pool_map(fn, jobs: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    if n > 1 and len(jobs) > 1:
        with mp.get_context("spawn").Pool(n, initializer=_init_worker) as pool:
            return pool.map(fn, jobs, chunksize=1)
    _init_worker()
    return [fn(j) for j in jobs]


def _label(kind: str, steps: int) -> str:
    return {"dqn": "DQN (ANN)", "dsqn": "DSQN (T=5)", "converted": f"converted DQN (IF, T={steps})"}[kind]


def report(results: dict[str, Any], plots: Path) -> None:
    """Print the tables and write the plots."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sb3_spiking.convert import format_rows
    from sb3_spiking.robustness import plot_robustness

    seeds = sorted({r["seed"] for r in results["convert"]})
    print("\n## Conversion, per seed\n")
    for r in sorted(results["convert"], key=lambda r: r["seed"]):
        print(f"seed {r['seed']} ({r['seconds']:.0f} s)\n")
        print(format_rows(r["rows"]) + "\n")
    print("## Conversion, mean over seeds\n")
    print("| T | agreement (mean, min-max) | return (mean of seeds) | energy / decision (nJ) | vs ANN |")
    print("|---|---|---|---|---|")
    steps_list = [row["num_steps"] for row in results["convert"][0]["rows"]]
    table: dict[Any, dict[str, list[float]]] = {}
    for r in results["convert"]:
        for row in r["rows"]:
            cell = table.setdefault(row["num_steps"], {"agreement": [], "return": [], "energy": [], "ratio": []})
            cell["agreement"].append(row["agreement"])
            cell["return"].append(row["mean_return"])
            cell["energy"].append(row["energy_j"] * 1e9)
            cell["ratio"].append(row["energy_ratio"])
    for steps in steps_list:
        c = table[steps]
        name = "DQN (ANN)" if steps is None else str(steps)
        print(
            f"| {name} | {np.mean(c['agreement']):.4f} ({min(c['agreement']):.4f}-{max(c['agreement']):.4f}) "
            f"| {np.mean(c['return']):.1f} ({', '.join(f'{v:.1f}' for v in c['return'])}) "
            f"| {np.mean(c['energy']):.2f} | {np.mean(c['ratio']):.2f}x |"
        )

    fig, ax = plt.subplots(figsize=(6, 4))
    ts = [s for s in steps_list if s is not None]
    for r in sorted(results["convert"], key=lambda r: r["seed"]):
        by_t = {row["num_steps"]: row["agreement"] for row in r["rows"]}
        ax.plot(ts, [by_t[t] for t in ts], marker="o", label=f"seed {r['seed']}")
    ax.set_xscale("log")
    ax.set_xlabel("T (simulation steps per decision)")
    ax.set_ylabel("ANN/SNN greedy-action agreement")
    ax.set_title(f"DQN -> IF SNN conversion, {ENV_ID}, held-out frames")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(plots / "conversion_agreement.png", dpi=120)
    plt.close(fig)

    if not results["fgsm"]:
        return
    epsilons = results["fgsm"][0]["epsilons"]
    kinds = [k for k in ("dqn", "dsqn", "converted") if any(r["kind"] == k for r in results["fgsm"])]
    steps = results["fgsm"][0]["fgsm_num_steps"]
    print(f"\n## FGSM, mean return per seed (episodes per point: {sorted({r['episodes'] for r in results['fgsm']})})\n")
    print("| model | seed | " + " | ".join(f"eps={e:g}" for e in epsilons) + " |")
    print("|---|---|" + "---|" * len(epsilons))
    curves: dict[str, dict[float, list[float]]] = {}
    for kind in kinds:
        label = _label(kind, steps)
        curves[label] = {e: [] for e in epsilons}
        for r in sorted((r for r in results["fgsm"] if r["kind"] == kind), key=lambda r: r["seed"]):
            means = [float(np.mean(r["returns"][str(float(e))])) for e in epsilons]
            for e, m in zip(epsilons, means, strict=False):
                curves[label][e].append(m)
            print(f"| {label} | {r['seed']} | " + " | ".join(f"{m:.1f}" for m in means) + " |")
    print("\n## FGSM, mean over seeds (std over seeds)\n")
    print("| model | " + " | ".join(f"eps={e:g}" for e in epsilons) + " |")
    print("|---|" + "---|" * len(epsilons))
    for label, curve in curves.items():
        print(f"| {label} | " + " | ".join(f"{np.mean(curve[e]):.1f} ({np.std(curve[e]):.1f})" for e in epsilons) + " |")
    plot_robustness(curves, str(plots / "fgsm_cartpole.png"), title=f"FGSM on {ENV_ID}: mean over seeds {seeds} (band: std)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--n-timesteps", type=int, default=None, help="override the training budget (smoke tests)")
    parser.add_argument("--out-dir", default="runs/conversion_robustness")
    parser.add_argument("--plots", default=str(REPO / "docs"))
    parser.add_argument("--num-steps", type=int, nargs="+", default=[10, 25, 50, 100, 250, 500])
    parser.add_argument("--n-episodes", type=int, default=10, help="evaluation episodes per T (conversion)")
    parser.add_argument("--epsilons", type=float, nargs="+", default=[0.0, 0.01, 0.02, 0.05, 0.1, 0.2])
    parser.add_argument("--fgsm-episodes", type=int, default=10)
    parser.add_argument("--fgsm-num-steps", type=int, default=100, help="T of the converted SNN attacked (0: skip)")
    parser.add_argument("--converted-fgsm-episodes", type=int, default=10)
    parser.add_argument("--phases", nargs="+", default=["train", "convert", "fgsm"], choices=["train", "convert", "fgsm"])
    args = parser.parse_args()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots = Path(args.plots)
    plots.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    base = {"out": str(out)}
    t0 = time.perf_counter()
    if "train" in args.phases:
        jobs = [{**base, "algo": a, "seed": s, "n_timesteps": args.n_timesteps} for s in args.seeds for a in ("dsqn", "dqn")]
        results["train"] = _pool_map(train, jobs, args.jobs)
        print(
            f"trained in {time.perf_counter() - t0:.0f} s: "
            f"{[(r['algo'], r['seed'], r['train_seconds']) for r in results['train']]}"
        )
    if "convert" in args.phases:
        jobs = [{**base, "seed": s, "num_steps": args.num_steps, "n_episodes": args.n_episodes} for s in args.seeds]
        results["convert"] = _pool_map(convert, jobs, args.jobs)
    if "fgsm" in args.phases:
        common = {**base, "epsilons": args.epsilons, "fgsm_num_steps": args.fgsm_num_steps}
        kinds = ["converted", "dsqn", "dqn"] if args.fgsm_num_steps else ["dsqn", "dqn"]
        jobs = [
            {
                **common,
                "kind": k,
                "seed": s,
                "episodes": args.converted_fgsm_episodes if k == "converted" else args.fgsm_episodes,
            }
            for k in kinds
            for s in args.seeds
        ]
        results["fgsm"] = _pool_map(fgsm, jobs, args.jobs)
    results["command"] = " ".join(["python", *sys.argv])
    results["cpu_count"] = os.cpu_count()
    results_path.write_text(json.dumps(results, indent=1))
    print(f"total {time.perf_counter() - t0:.0f} s; results in {results_path}")
    if "convert" in results:
        report(results, plots)


if __name__ == "__main__":
    main()
