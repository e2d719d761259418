"""The T ablation: train one configuration per ``num_steps`` and seed with ``rl_zoo3 train``, then
measure return, energy per decision and batch-1 latency of each trained agent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from sb3_spiking.snn.validation import check_int

#: How the rl_zoo3 console script is started from another interpreter (no shell, no PATH lookup).
ZOO_MAIN = "import sys; from rl_zoo3.cli import main; sys.argv[0] = 'rl_zoo3'; sys.exit(main())"


def zoo_policy_kwargs(algo: str, env_id: str, conf: str | None = None) -> dict[str, Any]:
    """The ``policy_kwargs`` of the entry ``rl_zoo3 train --algo algo --env env_id`` would use
    (``conf``, else this package's ``hyperparams/<algo>.yml``, else RL Zoo's file of the ANN twin),
    evaluated as the zoo evaluates it."""
    import rl_zoo3.exp_manager
    import yaml

    from sb3_spiking.zoo.plugin import ZOO_ALGOS, default_config
    from sb3_spiking.zoo.settings import zoo_file

    candidates = [conf] if conf else [default_config(algo), str(zoo_file(ZOO_ALGOS[algo][2] if algo in ZOO_ALGOS else algo))]
    for path in candidates:
        if path and os.path.isfile(path):
            with open(path) as f:
                entries = yaml.safe_load(f) or {}
            if env_id in entries:
                value = entries[env_id].get("policy_kwargs", {})
                return dict(eval(value, vars(rl_zoo3.exp_manager)) if isinstance(value, str) else value)
    raise KeyError(f"no {algo} settings for {env_id} in {' or '.join(c for c in candidates if c)}")


def params_literal(policy_kwargs: dict[str, Any]) -> str:
    """``policy_kwargs`` as the text of an ``rl_zoo3 train -params policy_kwargs:...`` value."""
    import rl_zoo3.utils

    text = repr(policy_kwargs)
    try:
        same = eval(text, vars(rl_zoo3.utils)) == policy_kwargs
    except Exception:
        same = False
    if not same:
        raise ValueError(f"policy_kwargs {policy_kwargs} cannot be passed on rl_zoo3's command line; use plain values")
    return text


class Run:
    """One (num_steps, seed) point of the sweep: its folder, command and progress."""

    def __init__(self, out: Path, algo: str, env_id: str, num_steps: int, seed: int) -> None:
        self.algo, self.env_id, self.num_steps, self.seed = algo, env_id, num_steps, seed
        self.folder = out / "runs" / f"T{num_steps}_seed{seed}"
        self.started: float | None = None

    @property
    def name(self) -> str:
        return f"T={self.num_steps} seed {self.seed}"

    def steps_done(self) -> int:
        """Env steps finished so far (sum of episode lengths in the zoo's Monitor files)."""
        total = 0
        for csv in self.folder.glob(f"{self.algo}/{self.env_id}_*/*monitor.csv"):
            with open(csv) as f:
                lines = f.read().splitlines()[2:]
            total += sum(int(line.split(",")[1]) for line in lines if line.count(",") >= 2)
        return total


def train(run: Run, n_timesteps: int | None, policy_kwargs: dict[str, Any], conf: str | None, extra: list[str]) -> None:
    """``rl_zoo3 train`` for one run (a fresh folder: an interrupted run starts again); ``extra``:
    more ``-params`` entries (``key:value``)."""
    if any(p.startswith("policy_kwargs:") for p in extra):
        raise ValueError("the sweep sets policy_kwargs itself (the entry's, with num_steps changed): give other keys")
    shutil.rmtree(run.folder, ignore_errors=True)
    run.folder.mkdir(parents=True)
    kwargs = {**policy_kwargs, "num_steps": run.num_steps}
    cmd = [sys.executable, "-c", ZOO_MAIN, "train", "--algo", run.algo, "--env", run.env_id, "--seed", str(run.seed)]
    # one -params list: rl_zoo3 keeps only the last -params option given
    cmd += ["-f", str(run.folder), "--eval-freq", "-1", "-params", f"policy_kwargs:{params_literal(kwargs)}", *extra]
    if n_timesteps:
        cmd += ["-n", str(n_timesteps)]
    if conf:
        cmd += ["-conf", conf]
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    run.started = time.perf_counter()
    with open(run.folder / "train.log", "w") as log:
        proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        tail = (run.folder / "train.log").read_text()[-2000:]
        raise RuntimeError(f"rl_zoo3 train failed for {run.name} (log: {run.folder / 'train.log'}):\n{tail}")


def measure(run: Run, n_eval_episodes: int, latency_repeats: int) -> dict[str, Any]:
    """Return, energy per decision and batch-1 latency of a trained run (and of its ANN twin)."""
    import torch
    from stable_baselines3.common.evaluation import evaluate_policy

    from sb3_spiking.common.energy import energy_report
    from sb3_spiking.report.report import ann_twin, batch1_latency_us, run_episodes
    from sb3_spiking.zoo.models import load_agent

    torch.set_num_threads(1)
    agent = load_agent(run.algo, run.env_id, folder=str(run.folder), seed=10_000 + run.seed)
    returns, _ = evaluate_policy(
        agent.model, agent.env, n_eval_episodes=n_eval_episodes, deterministic=True, return_episode_rewards=True
    )
    _, observations, _ = run_episodes(agent.model, agent.env, 1, 500)
    energy = energy_report(agent.model, observations)
    twin = ann_twin(agent.model, agent.env)
    first = observations[:1] if not isinstance(observations, dict) else {k: v[:1] for k, v in observations.items()}
    return dict(
        algo=run.algo,
        env=run.env_id,
        num_steps=run.num_steps,
        seed=run.seed,
        mean_return=float(np.mean(returns)),
        std_return=float(np.std(returns)),
        energy_j=energy["energy_j"],
        ann_energy_j=energy["ann_energy_j"],
        energy_ratio=energy["energy_ratio"],
        firing_rate=energy["firing_rate"],
        latency_us=batch1_latency_us(agent.model, first, latency_repeats),
        ann_latency_us=batch1_latency_us(twin, first, latency_repeats),
        train_seconds=time.perf_counter() - run.started if run.started else None,
        trained_timesteps=int(agent.model.num_timesteps),
    )


def read_results(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_sweep(
    algo: str,
    env_id: str,
    num_steps: list[int],
    seeds: list[int],
    out: str,
    n_timesteps: int | None = None,
    jobs: int = 1,
    conf: str | None = None,
    n_eval_episodes: int = 10,
    latency_repeats: int = 200,
    extra_params: list[str] | None = None,
    progress_every: float = 60.0,
) -> list[dict[str, Any]]:
    """Train and measure every (T, seed) not yet in ``out/results.jsonl``; return all results.

    Resumable at the level of runs: a finished run's line is kept and the run is not repeated; a run
    that was interrupted is trained again from the start. Progress is printed as runs start and
    finish, and every ``progress_every`` seconds (env steps done per running run).
    """
    num_steps = [check_int("num_steps", t) for t in num_steps]
    jobs = check_int("jobs", jobs)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_path = out_dir / "results.jsonl"
    policy_kwargs = zoo_policy_kwargs(algo, env_id, conf)
    key = dict(algo=algo, env=env_id, n_timesteps=n_timesteps)
    done = {(r["num_steps"], r["seed"]): r for r in read_results(results_path) if all(r.get(k) == v for k, v in key.items())}
    todo = [Run(out_dir, algo, env_id, t, s) for s in seeds for t in num_steps if (t, s) not in done]
    print(
        f"sweep {algo} on {env_id}: {len(done)} of {len(num_steps) * len(seeds)} runs already done, {len(todo)} to go",
        flush=True,
    )
    lock = threading.Lock()
    running: list[Run] = []

    def one(run: Run) -> dict[str, Any]:
        with lock:
            running.append(run)
        print(f"[{run.name}] training with rl_zoo3 (log: {run.folder / 'train.log'})", flush=True)
        try:
            train(run, n_timesteps, policy_kwargs, conf, list(extra_params or []))
            result = {**measure(run, n_eval_episodes, latency_repeats), **key}
        finally:
            with lock:
                running.remove(run)
        with lock, open(results_path, "a") as f:
            f.write(json.dumps(result) + "\n")
        print(
            f"[{run.name}] return {result['mean_return']:.1f} +- {result['std_return']:.1f}, energy "
            f"{result['energy_ratio']:.3f} x ANN, latency {result['latency_us']:.0f} us "
            f"(ANN {result['ann_latency_us']:.0f} us), {result['train_seconds']:.0f} s",
            flush=True,
        )
        done[(run.num_steps, run.seed)] = result
        return result

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [pool.submit(one, run) for run in todo]
        last = time.perf_counter()
        while not all(f.done() for f in futures):
            time.sleep(1.0)
            if progress_every and time.perf_counter() - last >= progress_every:
                last = time.perf_counter()
                with lock:
                    status = ", ".join(f"{r.name}: {r.steps_done()} steps" for r in running)
                if status:
                    print(f"  running: {status}", flush=True)
        for f in futures:
            f.result()  # re-raise the first failure
    return [done[(t, s)] for t in num_steps for s in seeds]


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per T: mean/min/max return over seeds, mean energy, latency (and the ANN's)."""
    rows = []
    for t in sorted({r["num_steps"] for r in results}):
        rs = [r for r in results if r["num_steps"] == t]
        returns = [r["mean_return"] for r in rs]
        rows.append(
            dict(
                num_steps=t,
                seeds=[r["seed"] for r in rs],
                returns=returns,
                mean_return=float(np.mean(returns)),
                min_return=float(np.min(returns)),
                max_return=float(np.max(returns)),
                energy_j=float(np.mean([r["energy_j"] for r in rs])),
                ann_energy_j=float(np.mean([r["ann_energy_j"] for r in rs])),
                energy_ratio=float(np.mean([r["energy_ratio"] for r in rs])),
                firing_rate=float(np.mean([r["firing_rate"] for r in rs])),
                latency_us=float(np.mean([r["latency_us"] for r in rs])),
                ann_latency_us=float(np.mean([r["ann_latency_us"] for r in rs])),
            )
        )
    return rows


def markdown_table(rows: list[dict[str, Any]], algo: str, env_id: str) -> str:
    lines = [
        f"| T | return per seed ({algo}, {env_id}) | mean | energy / decision (pJ) | vs ANN | firing rate "
        "| batch-1 latency (us) | ANN latency (us) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        per_seed = " / ".join(f"{x:.1f}" for x in r["returns"])
        lines.append(
            f"| {r['num_steps']} | {per_seed} | **{r['mean_return']:.1f}** | {r['energy_j'] * 1e12:.0f} | "
            f"{r['energy_ratio']:.3f} | {r['firing_rate']:.3f} | {r['latency_us']:.0f} | {r['ann_latency_us']:.0f} |"
        )
    return "\n".join(lines) + "\n"
