"""``python -m sb3_spiking.offline``: collect a behaviour dataset, train SpikingBCQ on it, compare modes.

The commands, and their building blocks (importable, so that the worker processes of
``compare`` can unpickle them). The library (datasets, the offline algorithm base) is the rest of
:mod:`sb3_spiking.offline`.

Offline RL commands: collect a behaviour dataset, train SpikingBCQ on it, compare modes.

    # 1. behaviour data: train TD3 with RL Zoo's settings (or --model a saved one), collect
    python -m sb3_spiking.offline collect --env Pendulum-v1 --algo td3 --train-steps 20000 \\
        --n-steps 100000 --dataset-id pendulum/td3-acsf-v0 --seed 0
    # 2. one offline run (any of the ACSF comparison's modes, or --policy-kwargs)
    python -m sb3_spiking.offline train --dataset pendulum/td3-acsf-v0 --env Pendulum-v1 --mode acsf \\
        --gradient-steps 20000 --seed 0 --save-path logs/bcq_acsf.zip
    # 3. the comparison table: modes x seeds, evaluated on the env, next to the behaviour policy
    python -m sb3_spiking.offline compare --dataset pendulum/td3-acsf-v0 --env Pendulum-v1 \\
        --gradient-steps 20000 --seeds 0 1 2 --jobs 2

``rl_zoo3 train --algo spiking_bcq --env Pendulum-v1`` trains the same way through RL Zoo (the
dataset id is a hyperparameter; see ``hyperparams/spiking_bcq.yml`` and ``zoo_configs/acsf/``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from typing import Any

import numpy as np

#: The five modes of ACSF's comparison (Qin et al., IJCAI 2023), as ``policy_kwargs``.
MODES: dict[str, dict[str, Any]] = {
    "acsf": dict(encoder="learnable", decoder="learnable", num_steps=4),  # learnable coding (ACSF)
    "rate": dict(encoder="rate", decoder="rate", num_steps=4),  # rate coding + SNN
    "max": dict(encoder="direct", decoder="membrane", membrane_readout="max", num_steps=4),  # max-over-time
    "ann_coders": dict(encoder="learnable", decoder="learnable", num_steps=4, neuron="relu"),  # coders around an ANN
    "bcq": dict(spiking=False),  # plain BCQ
}

BEHAVIOUR_ALGOS = ("td3", "ddpg", "sac")


def zoo_hyperparams(algo: str, env_id: str) -> tuple[dict[str, Any], int]:
    """RL Zoo's settings for ``algo`` on ``env_id``: (constructor kwargs, n_timesteps); empty and
    0 when the zoo is not installed or has no entry."""
    try:
        import gymnasium as gym

        from sb3_spiking.zoo.settings import zoo_file, zoo_kwargs

        n_actions = int(np.prod(gym.make(env_id).action_space.shape))
        hp, n_timesteps, _ = zoo_kwargs(zoo_file(algo), env_id, n_actions)
    except (ImportError, OSError, KeyError):
        return {}, 0
    return hp, n_timesteps


def behaviour_model(args: argparse.Namespace) -> Any:
    """Load ``--model``, or train ``--algo`` for ``--train-steps`` with RL Zoo's settings."""
    import stable_baselines3 as sb3

    cls = getattr(sb3, args.algo.upper())
    if args.model:
        return cls.load(args.model, device="cpu")
    hp, zoo_steps = zoo_hyperparams(args.algo, args.env)
    steps = args.train_steps or zoo_steps
    if not steps:
        raise SystemExit(f"No RL Zoo settings for {args.algo} on {args.env}: give --train-steps or --model")
    print(f"training the behaviour policy: {args.algo} on {args.env} for {steps} steps (RL Zoo settings: {sorted(hp)})")
    model = cls("MlpPolicy", args.env, seed=args.seed, device="cpu", verbose=0, **hp)
    model.learn(steps)
    if args.save_behaviour:
        model.save(args.save_behaviour)
    return model


def evaluate(model: Any, env_id: str, episodes: int, seed: int) -> tuple[float, float]:
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy

    env = make_vec_env(env_id, n_envs=1, seed=10_000 + seed)
    mean, std = evaluate_policy(model, env, n_eval_episodes=episodes, deterministic=True)
    env.close()
    return float(mean), float(std)


def cmd_collect(args: argparse.Namespace) -> None:
    from sb3_spiking.offline import collect_dataset

    model = behaviour_model(args)
    mean, std = evaluate(model, args.env, args.eval_episodes, args.seed)
    print(f"behaviour policy (no noise): {mean:.1f} +- {std:.1f} over {args.eval_episodes} episodes")
    start = time.time()
    dataset = collect_dataset(
        model, args.env, args.n_steps, args.dataset_id, seed=args.seed, random_prob=args.random_prob, noise_std=args.noise_std
    )
    returns = [float(np.sum(ep.rewards)) for ep in dataset.iterate_episodes()]
    returns = returns[:-1] or returns  # the last episode is cut at n_steps
    print(
        f"wrote {dataset.id}: {dataset.total_steps} transitions, {dataset.total_episodes} episodes, "
        f"mean episode return {np.mean(returns):.1f} ({time.time() - start:.0f} s)"
    )
    info = {"dataset": dataset.id, "behaviour_return": mean, "behaviour_std": std, "dataset_return": float(np.mean(returns))}
    print(json.dumps(info))


def train_one(job: dict[str, Any]) -> dict[str, Any]:
    """One offline run: SpikingBCQ in one mode, one seed; returns the evaluation and energy."""
    import torch

    from sb3_spiking import SpikingBCQ, energy_report

    if job.get("threads", 1):
        torch.set_num_threads(job.get("threads", 1))
    policy_kwargs = {**MODES.get(job["mode"], {}), **job.get("policy_kwargs", {})}
    start = time.time()
    model = SpikingBCQ(
        "MlpPolicy", job["env"], dataset=job["dataset"], policy_kwargs=policy_kwargs, seed=job["seed"], **job.get("kwargs", {})
    )
    model.learn(job["gradient_steps"])
    train_s = time.time() - start
    mean, std = evaluate(model, job["env"], job["eval_episodes"], job["seed"])
    obs = model.replay_buffer.sample(256).observations.cpu().numpy()
    report = energy_report(model, obs)
    if job.get("save_path"):
        model.save(job["save_path"])
    return {
        "mode": job["mode"],
        "seed": job["seed"],
        "return": mean,
        "return_std": std,
        "spikes": report["spikes"],
        "energy_ratio": report["energy_ratio"],
        "train_s": train_s,
        "policy_kwargs": policy_kwargs,
    }


def _job(args: argparse.Namespace, mode: str, seed: int) -> dict[str, Any]:
    kwargs = json.loads(args.kwargs) if args.kwargs else {}
    return {
        "mode": mode,
        "seed": seed,
        "env": args.env,
        "dataset": args.dataset,
        "gradient_steps": args.gradient_steps,
        "eval_episodes": args.eval_episodes,
        "policy_kwargs": json.loads(args.policy_kwargs) if args.policy_kwargs else {},
        "kwargs": kwargs,
    }


def cmd_train(args: argparse.Namespace) -> None:
    job = _job(args, args.mode, args.seed)
    job["save_path"] = args.save_path
    job["threads"] = 0  # 0: leave torch's default thread count
    result = train_one(job)
    print(json.dumps(result))


def cmd_compare(args: argparse.Namespace) -> None:
    jobs = [_job(args, mode, seed) for mode in args.modes for seed in args.seeds]
    with mp.get_context("spawn").Pool(args.jobs) as pool:
        results = []
        for result in pool.imap_unordered(train_one, jobs):
            print(json.dumps(result), flush=True)
            results.append(result)
            if args.out:
                with open(args.out, "a") as f:
                    f.write(json.dumps(result) + "\n")
    print(
        f"\n{args.env}, dataset {args.dataset}, {args.gradient_steps} gradient steps, "
        f"{args.eval_episodes} eval episodes per seed\n"
    )
    print("| mode | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean | spikes/decision | energy vs ANN |")
    print("|---|" + "---|" * (len(args.seeds) + 3))
    for mode in args.modes:
        rows = sorted((r for r in results if r["mode"] == mode), key=lambda r: r["seed"])
        values = [r["return"] for r in rows]
        print(
            f"| {mode} | " + " | ".join(f"{v:.1f}" for v in values) + f" | {np.mean(values):.1f} | "
            f"{np.mean([r['spikes'] for r in rows]):.0f} | {np.mean([r['energy_ratio'] for r in rows]):.2f} |"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sb3_spiking.offline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    collect = sub.add_parser("collect", help="train or load a behaviour policy and write a Minari dataset")
    collect.add_argument("--env", required=True)
    collect.add_argument("--algo", choices=BEHAVIOUR_ALGOS, default="td3")
    collect.add_argument("--model", help="a saved SB3 model (.zip) of --algo; else one is trained")
    collect.add_argument("--train-steps", type=int, default=0, help="behaviour training steps (default: RL Zoo's n_timesteps)")
    collect.add_argument("--save-behaviour", help="save the trained behaviour policy here")
    collect.add_argument("--n-steps", type=int, required=True, help="transitions to collect")
    collect.add_argument("--dataset-id", required=True, help="Minari id, e.g. pendulum/td3-acsf-v0")
    collect.add_argument("--seed", type=int, default=0)
    collect.add_argument("--random-prob", type=float, default=0.3)
    collect.add_argument("--noise-std", type=float, default=0.3)
    collect.add_argument("--eval-episodes", type=int, default=10)
    collect.set_defaults(func=cmd_collect)

    for name, func, helptext in (
        ("train", cmd_train, "train SpikingBCQ on a dataset (one mode, one seed) and evaluate it"),
        ("compare", cmd_compare, "the ACSF comparison: several modes x seeds, as a Markdown table"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--dataset", required=True, help="Minari dataset id or directory")
        p.add_argument("--env", required=True, help="evaluation environment")
        p.add_argument("--gradient-steps", type=int, default=20_000)
        p.add_argument("--eval-episodes", type=int, default=10)
        p.add_argument("--policy-kwargs", help="JSON dict merged into the mode's policy_kwargs")
        p.add_argument("--kwargs", help="JSON dict of SpikingBCQ arguments (batch_size, learning_rate, ...)")
        if name == "train":
            p.add_argument("--mode", choices=list(MODES), default="acsf")
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--save-path")
        else:
            p.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
            p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
            p.add_argument("--jobs", type=int, default=2)
            p.add_argument("--out", help="append JSON lines here")
        p.set_defaults(func=func)

    args = parser.parse_args(argv)
    args.func(args)
