"""Learning results: an SB3 ANN algorithm and its spiking twin on the same seeds, same settings.

    python benchmarks/learning.py --env Pendulum-v1 --algos td3 spiking_td3 --seeds 0 1 2 --jobs 2
    python benchmarks/learning.py --env CartPole-v1 --algos dqn dsqn --hyperparams hyperparams/dsqn.yml
    python benchmarks/learning.py --env Hopper-v5 --algos td3 spiking_td3 spiking_td3:proxy_target=True \\
        --hyperparams hyperparams/spiking_td3.yml --n-timesteps 100000 --eval-freq 5000 \\
        --out docs/results/mujoco.jsonl --resume --jobs 2 --plot docs/mujoco_hopper.png

Hyperparameters are RL Zoo's for the ANN algorithm, read from rl_zoo3's own
``hyperparams/<algo>.yml`` (``spiking_td3`` uses ``td3.yml``, ``dsqn`` uses ``dqn.yml``); the
spiking twin uses the same ones plus its default spiking options, or ``--policy-kwargs`` (a JSON
dict merged into ``policy_kwargs``); ``--hyperparams`` takes the settings from an RL-Zoo-style
YAML file instead (this repository ships tuned ones in ``hyperparams/``), for both algorithms (the
ANN gets them without the spiking options). Callbacks the entry names (``callback:``, e.g.
``StopTrainingWhenSolved``) are passed to ``learn`` as ``rl_zoo3 train`` does.

An ``--algos`` entry may carry algorithm arguments after a colon, as ``rl_zoo3 train -params``
does: ``spiking_td3:proxy_target=True`` (several: ``a=1,b=2``; values are YAML). The whole
string is the row's name.

Evaluation is deterministic, ``--eval-episodes`` episodes on a separate env reseeded with
``10000 + seed`` before every evaluation (so every evaluation of a run starts from the same
states): at the end of training, and with ``--eval-freq N`` every N env steps too. Each
evaluation is printed as it happens and, with ``--out``, appended as a JSON line
(``"type": "eval"``); each finished run appends a ``"type": "final"`` line (last evaluation,
area under the evaluation curve, wall time, energy per decision vs the same-shape ANN).

Interruption: with ``--eval-freq`` and ``--out``, every evaluation also writes a checkpoint
(SB3's ``save`` + ``save_replay_buffer``, and the evaluation history) into
``<out>.ckpt/<run>/step_<N>/``, first into a ``.tmp`` folder that is renamed when complete, so a
run killed at any moment (even while saving) leaves the previous checkpoint intact. ``--resume``
continues every run from its latest checkpoint (a finished run is not retrained, a longer
``--n-timesteps`` extends it). What differs from an uninterrupted run: the random generators
(torch, NumPy, the env, the action space) are reseeded with ``seed + steps done`` at the restart,
and the training episode that was running at the checkpoint is cut short (the env is reset).
Replay buffer, optimiser states, exploration-noise state and step counters are restored.

Recurrent policies (``ppo_lstm``, ``spiking_ppo_lstm``): ``predict`` is called with the state and
``episode_start`` (SB3's ``evaluate_policy`` does this already; the observations the energy is
measured on are collected the same way, each decision with the state it was taken in). A
stateless algorithm run with a recurrent settings file (the control ``spiking_ppo`` with
``hyperparams/spiking_ppo_lstm.yml``) gets the same settings without the LSTM's own keys
(``lstm_hidden_size``, ``enable_critic_lstm``, ...) and ``MlpPolicy`` for ``MlpLstmPolicy``.
An entry's ``normalize`` (RL Zoo's VecNormalize, as ``rl_zoo3 train``: ``gamma`` from the entry)
wraps the training env; evaluations then use a copy of its observation statistics (no reward
normalisation), and checkpoints save them::

    python benchmarks/learning.py --env CartPoleNoVel-v1 --algos spiking_ppo_lstm spiking_ppo ppo_lstm \
        --hyperparams hyperparams/spiking_ppo_lstm.yml --seeds 0 1 2 --eval-freq 10000 \
        --out benchmarks/results/recurrent.jsonl --resume

``--plot FILE.png`` draws the evaluation return against env steps per row (mean over seeds, min-max
band) from the ``--out`` file (``--plot-only``: draw without training).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from sb3_spiking.common.options import SPIKING_KEYS
from sb3_spiking.zoo import settings
from sb3_spiking.zoo.plugin import ZOO_ALGOS  # spiking zoo name -> (module, class, ANN twin, ...)


def zoo_file(algo: str, env_id: str | None = None) -> str:
    """RL Zoo's own settings file of the ANN algorithm behind ``algo`` (``spiking_td3`` -> td3.yml).

    Where that file has no entry for ``env_id`` (the zoo has no MuJoCo ``-v5`` entries), this
    package's file of the spiking algorithm is used (``hyperparams/spiking_td3.yml``, whose ``-v5``
    entries copy the zoo's ``-v4`` ones), for the ANN twin too (without the spiking options).
    """
    import yaml

    from sb3_spiking.zoo.plugin import default_config

    path = str(settings.zoo_file(ZOO_ALGOS[algo][2] if algo in ZOO_ALGOS else algo))
    if env_id is None or env_id in (yaml.safe_load(open(path)) or {}):
        return path
    spiking = algo if algo in ZOO_ALGOS else next((k for k, v in ZOO_ALGOS.items() if v[2] == algo), None)
    ours = default_config(spiking) if spiking else None
    if ours and os.path.isfile(ours) and env_id in (yaml.safe_load(open(ours)) or {}):
        print(f"{path} has no {env_id} entry: using {ours}", flush=True)
        return ours
    return path


#: Keys of sb3-contrib's recurrent policies that a stateless policy does not take.
RECURRENT_POLICY_KEYS = (
    "lstm_hidden_size",
    "n_lstm_layers",
    "shared_lstm",
    "enable_critic_lstm",
    "lstm_kwargs",
    "recurrent_synapses",
)


def is_recurrent(cls: type) -> bool:
    """Whether ``cls`` is sb3-contrib's RecurrentPPO (or a subclass): its ``predict`` takes a state."""
    from sb3_contrib import RecurrentPPO

    return issubclass(cls, RecurrentPPO)


def zoo_policy(path: str, env_id: str, recurrent: bool) -> str:
    """The entry's ``policy`` name (default ``MlpPolicy``); a recurrent name for a stateless
    algorithm becomes its stateless twin (``MlpLstmPolicy`` -> ``MlpPolicy``)."""
    policy = settings.zoo_entry(path, env_id).get("policy", "MlpLstmPolicy" if recurrent else "MlpPolicy")
    return policy if recurrent else policy.replace("LstmPolicy", "Policy")


def algo_class(name: str):
    from rl_zoo3.utils import ALGOS  # the zoo's table; sb3-spiking registers its algorithms in it

    return ALGOS[name]


def parse_algo_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"spiking_td3:proxy_target=True,tau=0.01"`` -> ``("spiking_td3", {"proxy_target": True, "tau": 0.01})``."""
    import yaml

    algo, _, rest = spec.partition(":")
    kwargs: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--algos {spec!r}: expected ALGO or ALGO:key=value[,key=value], got {item!r}")
        kwargs[key.strip()] = yaml.safe_load(value)
    return algo, kwargs


def run_name(job: dict[str, Any]) -> str:
    """File-system name of one run: row name, env and seed."""
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", f"{job['label']}_{job['env']}_s{job['seed']}")


# --------------------------------------------------------------------------------------------
# Checkpoints
# --------------------------------------------------------------------------------------------
def latest_checkpoint(run_dir: Path) -> Path | None:
    """The complete checkpoint with the most steps (``step_<N>``; ``.tmp`` folders are incomplete)."""
    done = [p for p in run_dir.glob("step_*") if p.is_dir() and re.fullmatch(r"step_\d+", p.name)]
    return max(done, key=lambda p: int(p.name[5:]), default=None)


def write_checkpoint(run_dir: Path, model: Any, state: dict[str, Any]) -> None:
    """Model, replay buffer and ``state`` into ``run_dir/step_<N>``, atomically (rename of a
    complete folder); older checkpoints of the run are removed afterwards."""
    final = run_dir / f"step_{model.num_timesteps}"
    tmp = run_dir / f"{final.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp / "model.zip")
    from stable_baselines3.common.vec_env import VecNormalize

    if isinstance(model.get_env(), VecNormalize):
        model.get_env().save(str(tmp / "vecnormalize.pkl"))
    if getattr(model, "replay_buffer", None) is not None:
        model.save_replay_buffer(tmp / "replay_buffer.pkl")
    (tmp / "state.json").write_text(json.dumps(state, default=str))
    with open(tmp / "state.json") as f:  # data on disk before the rename makes it visible
        os.fsync(f.fileno())
    if final.exists():  # the same step again (e.g. resumed with other settings): replace it
        shutil.rmtree(final)
    os.replace(tmp, final)
    for old in run_dir.glob("step_*"):
        if old != final and re.fullmatch(r"step_\d+", old.name):
            shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# One run
# --------------------------------------------------------------------------------------------
class Recorder:
    """Evaluations, checkpoints and progress lines of one run (history survives resumes)."""

    def __init__(self, job: dict[str, Any], model: Any, eval_env: Any, state: dict[str, Any], run_dir: Path | None):
        self.job, self.model, self.eval_env, self.state, self.run_dir = job, model, eval_env, state, run_dir
        self.started = time.perf_counter() - state["wall_seconds"]

    def evaluate(self) -> None:
        from stable_baselines3.common.evaluation import evaluate_policy
        from stable_baselines3.common.vec_env import VecNormalize, sync_envs_normalization

        job, model = self.job, self.model
        if isinstance(self.eval_env, VecNormalize):
            sync_envs_normalization(model.get_env(), self.eval_env)  # the training statistics, frozen
            self.eval_env.seed(10_000 + job["seed"])  # evaluate_policy resets a VecEnv itself
        else:
            self.eval_env.reset(seed=10_000 + job["seed"])
        returns, _ = evaluate_policy(
            model, self.eval_env, n_eval_episodes=job["eval_episodes"], deterministic=True, return_episode_rewards=True
        )
        row = dict(
            type="eval",
            label=job["label"],
            algo=job["algo"],
            env=job["env"],
            seed=job["seed"],
            timesteps=int(model.num_timesteps),
            mean_return=float(np.mean(returns)),
            std_return=float(np.std(returns)),
            returns=[float(r) for r in returns],
            wall_seconds=time.perf_counter() - self.started,
        )
        self.state["evals"].append(row)
        self.state["wall_seconds"] = row["wall_seconds"]
        append_jsonl(job.get("out"), [row])
        print(
            f"[{job['label']} {job['env']} seed {job['seed']}] {row['timesteps']}/{job['n_timesteps']} steps: "
            f"eval {row['mean_return']:.1f} +- {row['std_return']:.1f} ({row['wall_seconds']:.0f} s)",
            flush=True,
        )
        if self.run_dir is not None:
            write_checkpoint(self.run_dir, model, self.state)


def eval_callback(recorder: Recorder, eval_freq: int):
    from stable_baselines3.common.callbacks import BaseCallback

    class EvalEvery(BaseCallback):
        """Evaluate (and checkpoint) whenever ``num_timesteps`` crosses a multiple of ``eval_freq``.

        SB3's ``EvalCallback`` counts its own calls, which restart at 0 after a resume; this
        counts env steps, so evaluations stay at the same steps across interruptions."""

        def _on_training_start(self) -> None:
            self.next_eval = (self.num_timesteps // eval_freq + 1) * eval_freq

        def _on_step(self) -> bool:
            if self.num_timesteps >= self.next_eval:
                recorder.evaluate()
                self.next_eval = (self.num_timesteps // eval_freq + 1) * eval_freq
            return True

    return EvalEvery()


def collect_observations(model: Any, env: Any, n: int, normalize: Any = None) -> dict[str, Any]:
    """Up to ``n`` observations the trained policy visits on ``env`` (for the energy figures), as
    the policy sees them (``normalize``: a VecNormalize whose ``normalize_obs`` to apply), with
    the recurrent state and ``episode_start`` each decision was taken in (None: stateless):
    ``energy_report``'s arguments."""
    obs, _ = env.reset(seed=20_000)
    seen, states, starts = [], [], []
    state, start = None, np.ones(1, dtype=bool)
    recurrent = is_recurrent(type(model))
    for _ in range(n):
        obs_in = normalize.normalize_obs(obs) if normalize is not None else obs
        seen.append(obs_in)
        if recurrent:
            if state is None:
                state = tuple(np.zeros(model.policy.lstm_hidden_state_shape, dtype=np.float32) for _ in range(2))
            states.append(state)
            starts.append(start)
            action, state = model.predict(obs_in[None], state=state, episode_start=start, deterministic=True)
            action = action[0]
        else:
            action, _ = model.predict(obs_in, deterministic=True)
        obs, _, terminated, truncated, _ = env.step(action)
        start = np.array([terminated or truncated])
        if terminated or truncated:
            obs, _ = env.reset()
    out: dict[str, Any] = dict(observations=np.stack(seen))
    if recurrent:
        out["state"] = tuple(np.concatenate([s[i] for s in states], axis=1) for i in range(2))
        out["episode_start"] = np.concatenate(starts)
    return out


def auc(evals: list[dict[str, Any]]) -> float:
    """Area under the evaluation curve per env step (the curve's average return, trapezoid rule)."""
    steps = np.array([e["timesteps"] for e in evals], dtype=float)
    values = np.array([e["mean_return"] for e in evals])
    if len(steps) < 2:
        return float(values[-1])
    return float(np.trapezoid(values, steps) / (steps[-1] - steps[0]))


def run(job: dict[str, Any]) -> dict[str, Any]:
    import gymnasium as gym
    import rl_zoo3.import_envs  # noqa: F401 (registers the zoo's envs, e.g. the velocity-masked *NoVel-v1)
    import torch
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.monitor import Monitor

    from sb3_spiking import energy_report

    torch.set_num_threads(1)
    algo, env_id, seed = job["algo"], job["env"], job["seed"]
    n_actions = int(np.prod(gym.make(env_id).action_space.shape))
    hp_file = job.get("hyperparams") or zoo_file(algo, env_id)
    hp, zoo_steps, n_envs = settings.zoo_kwargs(hp_file, env_id, n_actions)
    callbacks = settings.zoo_callbacks(hp_file, env_id)  # e.g. StopTrainingWhenSolved in hyperparams/dsqn.yml
    hp.setdefault("policy_kwargs", {})
    n_timesteps = job["n_timesteps"] = int(job.get("n_timesteps") or zoo_steps)
    normalize = settings.zoo_entry(hp_file, env_id).get("normalize", False)
    if normalize:
        from stable_baselines3.common.vec_env import VecNormalize

        if normalize is True:
            norm_kwargs = {}
        else:  # the zoo's "dict(norm_obs=True, ...)" string, or a mapping
            norm_kwargs = dict(eval(normalize, {"dict": dict}) if isinstance(normalize, str) else normalize)
        norm_kwargs.setdefault("gamma", hp.get("gamma", 0.99))  # as rl_zoo3's exp_manager
        env = VecNormalize(make_vec_env(env_id, n_envs=n_envs, seed=seed), **norm_kwargs)
    else:
        env = make_vec_env(env_id, n_envs=n_envs, seed=seed) if n_envs > 1 else gym.make(env_id)
    if algo in ZOO_ALGOS:  # a spiking algorithm: --policy-kwargs adds to its options
        hp["policy_kwargs"] = {**hp["policy_kwargs"], **job["policy_kwargs"]}
    else:  # the ANN twin run with a spiking settings file: same settings minus the spiking options
        spiking_only = (*SPIKING_KEYS, "recurrent_synapses")  # the last: SpikingRecurrentPPO's policy
        hp["policy_kwargs"] = {k: v for k, v in hp["policy_kwargs"].items() if k not in spiking_only}
    hp.update(job["algo_kwargs"])
    cls = algo_class(algo)
    recurrent = is_recurrent(cls)
    if not recurrent:  # the stateless control run with a recurrent settings file
        hp["policy_kwargs"] = {k: v for k, v in hp["policy_kwargs"].items() if k not in RECURRENT_POLICY_KEYS}
    policy = zoo_policy(hp_file, env_id, recurrent)

    run_dir = Path(job["checkpoint_dir"]) / run_name(job) if job.get("checkpoint_dir") else None
    checkpoint = latest_checkpoint(run_dir) if run_dir is not None and run_dir.is_dir() else None
    if checkpoint is not None and not job["resume"]:
        raise SystemExit(f"{run_dir} holds checkpoints of an earlier run: pass --resume to continue it, or delete it")
    if checkpoint is not None:
        if normalize:
            env = VecNormalize.load(str(checkpoint / "vecnormalize.pkl"), env.venv)
        model = cls.load(checkpoint / "model.zip", env=env, device="cpu")
        if (checkpoint / "replay_buffer.pkl").exists():
            model.load_replay_buffer(checkpoint / "replay_buffer.pkl")
        model.set_random_seed(seed + model.num_timesteps)  # see the module docstring
        state = json.loads((checkpoint / "state.json").read_text())
        print(f"[{job['label']} {env_id} seed {seed}] resumed from {checkpoint} ({model.num_timesteps} steps)", flush=True)
    else:
        model = cls(policy, env, seed=seed, device="cpu", **hp)
        state = dict(evals=[], wall_seconds=0.0)

    if normalize:
        from stable_baselines3.common.vec_env import DummyVecEnv

        eval_env = VecNormalize(DummyVecEnv([lambda: Monitor(gym.make(env_id))]), training=False, norm_reward=False)
    else:
        eval_env = Monitor(gym.make(env_id))
    recorder = Recorder(job, model, eval_env, state, run_dir)
    if job.get("eval_freq"):
        callbacks = [*callbacks, eval_callback(recorder, job["eval_freq"])]
    remaining = n_timesteps - model.num_timesteps
    if remaining > 0:
        model.learn(remaining, callback=CallbackList(callbacks), reset_num_timesteps=checkpoint is None)
    if not state["evals"] or state["evals"][-1]["timesteps"] != model.num_timesteps:
        recorder.evaluate()  # the final policy (a stopping callback, or no --eval-freq)

    energy = energy_report(model, **collect_observations(model, gym.make(env_id), 500, eval_env if normalize else None))
    last = state["evals"][-1]
    row = dict(
        type="final",
        label=job["label"],
        algo=algo,
        env=env_id,
        seed=seed,
        n_timesteps=n_timesteps,
        trained_timesteps=int(model.num_timesteps),  # < n_timesteps when a callback stopped training
        policy_kwargs=hp["policy_kwargs"],
        algo_kwargs=job["algo_kwargs"],
        hyperparams=job.get("hyperparams"),
        mean_return=last["mean_return"],
        std_return=last["std_return"],
        auc=auc(state["evals"]),
        n_evals=len(state["evals"]),
        train_seconds=state["wall_seconds"],  # wall time of training + evaluations, over all resumes
        energy_j=energy["energy_j"],
        ann_energy_j=energy["ann_energy_j"],
        energy_ratio=energy["energy_ratio"],
        firing_rate=energy["firing_rate"],
    )
    append_jsonl(job.get("out"), [row])
    return row


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------
def append_jsonl(path: str | None, rows: list[dict[str, Any]]) -> None:
    if not path:
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:  # one write per line: lines of parallel runs do not interleave
        for r in rows:
            f.write(json.dumps(r, default=str) + "\n")
            f.flush()


def read_jsonl(path: str) -> list[dict[str, Any]]:
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def eval_curves(rows: list[dict[str, Any]], env_id: str) -> dict[str, dict[int, dict[int, float]]]:
    """label -> seed -> {timesteps: mean return}. A line whose step is not after the previous
    line of its run starts that run's history again from there: the lines at and after it are
    dropped (a resumed run redoing an evaluation whose checkpoint was not written, or a run whose
    checkpoints were lost restarting from step 0, replaces what it redoes)."""
    curves: dict[str, dict[int, dict[int, float]]] = {}
    for r in rows:
        if r.get("type") == "eval" and r["env"] == env_id:
            run = curves.setdefault(r["label"], {}).setdefault(r["seed"], {})
            for t in [t for t in run if t >= r["timesteps"]]:
                del run[t]
            run[r["timesteps"]] = r["mean_return"]
    return curves


def finished_runs(rows: list[dict[str, Any]], env_id: str) -> set[tuple[str, int]]:
    """(label, seed) of the runs of ``env_id`` that wrote their final line."""
    return {(r["label"], r["seed"]) for r in rows if r.get("type") == "final" and r["env"] == env_id}


def plot(rows: list[dict[str, Any]], env_id: str, path: str, eval_episodes: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = eval_curves(rows, env_id)
    if not curves:
        raise SystemExit(f"no evaluation lines for {env_id} to plot (run with --eval-freq and --out first)")
    done = finished_runs(rows, env_id)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for label, seeds in curves.items():
        # Every step any seed was evaluated at, from the last first evaluation on; a finished run
        # that stopped early (stop-when-solved) keeps its final return from then on, so the
        # curve runs to the end of the longest run; an unfinished run cuts the curve where it is.
        unfinished_ends = [max(seeds[s]) for s in seeds if (label, s) not in done]
        end = min(unfinished_ends) if unfinished_ends else max(max(c) for c in seeds.values())
        start = max(min(c) for c in seeds.values())
        steps = sorted(t for t in set().union(*seeds.values()) if start <= t <= end)
        values = np.array([[seeds[s][max(k for k in seeds[s] if k <= t)] for t in steps] for s in sorted(seeds)])
        stopped = any(max(seeds[s]) < end for s in seeds)
        running = len(unfinished_ends)
        note = f", {running} unfinished: curve to {steps[-1]} steps" if running else ""
        note += ", a stopped run keeps its final return" if stopped else ""
        (line,) = ax.plot(
            steps, values.mean(axis=0), label=f"{label} ({len(seeds)} seed{'s' if len(seeds) > 1 else ''}{note})"
        )
        ax.fill_between(steps, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"return (deterministic, {eval_episodes} episodes)")
    ax.set_title(f"{env_id}: evaluation return, mean over seeds, band = min-max")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")


def print_table(results: list[dict[str, Any]], env_id: str, labels: list[str], header: str) -> None:
    print(f"\n{env_id}, {header}\n")
    print("| algo | seed | final eval return | area under eval curve | env steps trained | wall time (s) | energy vs ANN |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['label']} | {r['seed']} | {r['mean_return']:.1f} | {r['auc']:.1f} | {r['trained_timesteps']} "
            f"| {r['train_seconds']:.0f} | {r['energy_ratio']:.2f} |"
        )
    for label in labels:
        rows = [r for r in results if r["label"] == label]
        if rows:
            print(
                f"| **{label}** | mean of {len(rows)} | **{np.mean([r['mean_return'] for r in rows]):.1f}** "
                f"| {np.mean([r['auc'] for r in rows]):.1f} | | {np.mean([r['train_seconds'] for r in rows]):.0f} "
                f"| {np.mean([r['energy_ratio'] for r in rows]):.2f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--algos", nargs="+", default=["td3", "spiking_td3"], help="ALGO or ALGO:key=value,...")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--policy-kwargs", default="{}", help="JSON dict of spiking options")
    parser.add_argument(
        "--hyperparams", default=None, help="RL-Zoo-style YAML (e.g. hyperparams/dsqn.yml) instead of the zoo table"
    )
    parser.add_argument("--n-timesteps", type=int, default=None, help="override the zoo budget")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--eval-freq", type=int, default=None, help="also evaluate (and checkpoint) every N env steps")
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (1 torch thread each)")
    parser.add_argument("--out", default=None, help="append results as JSON lines to this file")
    parser.add_argument("--checkpoint-dir", default=None, help="checkpoint folder (default: <out>.ckpt)")
    parser.add_argument("--resume", action="store_true", help="continue runs from their latest checkpoints")
    parser.add_argument("--plot", default=None, help="draw the evaluation curves of --out into this PNG")
    parser.add_argument(
        "--plot-only", action="store_true", help="only draw --plot and print the table of --out's finished runs, train nothing"
    )
    args = parser.parse_args()
    if args.eval_freq is not None and args.eval_freq < 1:
        parser.error(f"--eval-freq must be >= 1, got {args.eval_freq}")
    if (args.plot or args.resume) and not args.out:
        parser.error("--plot and --resume need --out (the JSON-lines file the curves and checkpoints belong to)")
    if args.plot_only:
        if not args.plot:
            parser.error("--plot-only needs --plot FILE.png")
        rows = read_jsonl(args.out)
        plot(rows, args.env, args.plot, args.eval_episodes)
        finals = [r for r in rows if r.get("type") == "final" and r["env"] == args.env and r["label"] in args.algos]
        finals.sort(key=lambda r: (args.algos.index(r["label"]), r["seed"]))
        print_table(finals, args.env, args.algos, f"finished runs in {args.out}")
        return

    checkpoint_dir = args.checkpoint_dir or (f"{args.out}.ckpt" if args.out and args.eval_freq else None)
    finished = {}  # (row, seed) -> final line of a run that already completed this budget
    if args.resume and os.path.isfile(args.out):
        for r in read_jsonl(args.out):
            if r.get("type") == "final" and r["env"] == args.env and args.n_timesteps in (None, r["n_timesteps"]):
                finished[(r["label"], r["seed"])] = r
    jobs, done = [], []
    specs = [(spec, *parse_algo_spec(spec)) for spec in args.algos]
    for s in args.seeds:  # seed-major: an interrupted sweep has every row for its first seeds
        for spec, algo, algo_kwargs in specs:
            if (spec, s) in finished:
                print(f"[{spec} {args.env} seed {s}] already finished in {args.out}: not rerun", flush=True)
                done.append(finished[(spec, s)])
                continue
            jobs.append(
                dict(
                    label=spec,
                    algo=algo,
                    algo_kwargs=algo_kwargs,
                    env=args.env,
                    seed=s,
                    policy_kwargs=json.loads(args.policy_kwargs),
                    n_timesteps=args.n_timesteps,
                    eval_episodes=args.eval_episodes,
                    eval_freq=args.eval_freq,
                    hyperparams=args.hyperparams,
                    out=args.out,
                    checkpoint_dir=checkpoint_dir,
                    resume=args.resume,
                )
            )
    if args.jobs > 1 and len(jobs) > 1:
        with mp.get_context("spawn").Pool(args.jobs) as pool:
            results = done + pool.map(run, jobs, chunksize=1)
    else:
        results = done + [run(j) for j in jobs]
    results.sort(key=lambda r: (args.algos.index(r["label"]), r["seed"]))

    print_table(results, args.env, args.algos, f"policy_kwargs {args.policy_kwargs}")
    if args.plot:
        plot(read_jsonl(args.out), args.env, args.plot, args.eval_episodes)


if __name__ == "__main__":
    main()
