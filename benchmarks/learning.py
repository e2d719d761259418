"""Learning results: an SB3 ANN algorithm and its spiking twin on the same seeds, same settings.

    python benchmarks/learning.py --env Pendulum-v1 --algos td3 spiking_td3 --seeds 0 1 2 --jobs 2
    python benchmarks/learning.py --env CartPole-v1 --algos dqn dsqn --seeds 0 1 2 --jobs 2
    python benchmarks/learning.py --env CartPole-v1 --algos dqn dsqn --hyperparams hyperparams/dsqn.yml

Hyperparameters are RL Zoo's for the ANN algorithm, read from rl_zoo3's own
``hyperparams/<algo>.yml`` (``spiking_td3`` uses ``td3.yml``, ``dsqn`` uses ``dqn.yml``); the
spiking twin uses the same ones plus its default spiking options, or ``--policy-kwargs`` (a JSON dict merged into ``policy_kwargs``); ``--hyperparams`` takes the
settings from an RL-Zoo-style YAML file instead (this repository ships tuned ones in
``hyperparams/``), for both algorithms (the ANN gets them without the spiking options). Callbacks
the entry names (``callback:``, e.g. ``StopTrainingWhenSolved``) are passed to ``learn`` as
``rl_zoo3 train`` does. After training, the final
policy is evaluated deterministically for ``--eval-episodes`` episodes on a separately seeded env;
the script prints one row per (algo, seed) and the mean over seeds, as a Markdown table, and
appends JSON lines to ``--out`` if given.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import time
from typing import Any

import numpy as np

from sb3_spiking.common.options import SPIKING_KEYS
from sb3_spiking.zoo import settings
from sb3_spiking.zoo.plugin import ZOO_ALGOS  # spiking zoo name -> (module, class, ANN twin, ...)


def zoo_file(algo: str) -> str:
    """RL Zoo's own settings file of the ANN algorithm behind ``algo`` (``spiking_td3`` -> td3.yml)."""
    return str(settings.zoo_file(ZOO_ALGOS[algo][2] if algo in ZOO_ALGOS else algo))


def algo_class(name: str):
    from rl_zoo3.utils import ALGOS  # the zoo's table; sb3-spiking registers its algorithms in it

    return ALGOS[name]


def run(job: dict[str, Any]) -> dict[str, Any]:
    import gymnasium as gym
    import torch
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.evaluation import evaluate_policy
    from stable_baselines3.common.monitor import Monitor

    torch.set_num_threads(1)
    algo, env_id, seed = job["algo"], job["env"], job["seed"]
    n_actions = int(np.prod(gym.make(env_id).action_space.shape))
    hp_file = job.get("hyperparams") or zoo_file(algo)
    hp, zoo_steps, n_envs = settings.zoo_kwargs(hp_file, env_id, n_actions)
    callbacks = settings.zoo_callbacks(hp_file, env_id)  # e.g. StopTrainingWhenSolved in hyperparams/dsqn.yml
    hp.setdefault("policy_kwargs", {})
    n_timesteps = int(job.get("n_timesteps") or zoo_steps)
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed) if n_envs > 1 else gym.make(env_id)
    if algo in ZOO_ALGOS:  # a spiking algorithm: --policy-kwargs adds to its options
        hp["policy_kwargs"] = {**hp["policy_kwargs"], **job["policy_kwargs"]}
    else:  # the ANN twin run with a spiking settings file: same settings minus the spiking options
        hp["policy_kwargs"] = {k: v for k, v in hp["policy_kwargs"].items() if k not in SPIKING_KEYS}
    model = algo_class(algo)("MlpPolicy", env, seed=seed, device="cpu", **hp)
    start = time.perf_counter()
    model.learn(n_timesteps, callback=callbacks)
    train_s = time.perf_counter() - start
    eval_env = Monitor(gym.make(env_id))
    eval_env.reset(seed=10_000 + seed)
    returns, _ = evaluate_policy(model, eval_env, n_eval_episodes=job["eval_episodes"], return_episode_rewards=True)
    return dict(
        algo=algo,
        env=env_id,
        seed=seed,
        n_timesteps=n_timesteps,
        trained_timesteps=int(model.num_timesteps),  # < n_timesteps when a callback stopped training
        policy_kwargs=hp["policy_kwargs"],
        hyperparams=job.get("hyperparams"),
        mean_return=float(np.mean(returns)),
        std_return=float(np.std(returns)),
        train_seconds=train_s,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="Pendulum-v1")
    parser.add_argument("--algos", nargs="+", default=["td3", "spiking_td3"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--policy-kwargs", default="{}", help="JSON dict of spiking options")
    parser.add_argument(
        "--hyperparams", default=None, help="RL-Zoo-style YAML (e.g. hyperparams/dsqn.yml) instead of the zoo table"
    )
    parser.add_argument("--n-timesteps", type=int, default=None, help="override the zoo budget")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=1, help="parallel processes (1 torch thread each)")
    parser.add_argument("--out", default=None, help="append results as JSON lines to this file")
    args = parser.parse_args()

    jobs = [
        dict(
            algo=a,
            env=args.env,
            seed=s,
            policy_kwargs=json.loads(args.policy_kwargs),
            n_timesteps=args.n_timesteps,
            eval_episodes=args.eval_episodes,
            hyperparams=args.hyperparams,
        )
        for a in args.algos
        for s in args.seeds
    ]
    if args.jobs > 1:
        with mp.get_context("spawn").Pool(args.jobs) as pool:
            results = pool.map(run, jobs, chunksize=1)
    else:
        results = [run(j) for j in jobs]

    if args.out:
        with open(args.out, "a") as f:
            for r in results:
                f.write(json.dumps(r) + "\n")
    print(f"\n{args.env}, policy_kwargs {args.policy_kwargs}\n")
    print("| algo | seed | mean eval return | env steps trained | train time (s) |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['algo']} | {r['seed']} | {r['mean_return']:.1f} | {r['trained_timesteps']} | {r['train_seconds']:.0f} |")
    for algo in args.algos:
        vals = [r["mean_return"] for r in results if r["algo"] == algo]
        print(f"| **{algo}** | mean of {len(vals)} | **{np.mean(vals):.1f}** | | |")


if __name__ == "__main__":
    main()
