"""SB3's identity tasks: the spiking actor-critic policy against SB3's ANN policy.

    python benchmarks/identity.py                       # spiking (defaults) and ANN, seeds 3 0 1 2 4
    python benchmarks/identity.py --policy-kwargs '{"decoder": "membrane"}' --no-ann

The settings are SB3's identity-test ones: ``IdentityEnvMultiDiscrete(4)`` and
``IdentityEnvMultiBinary(4)`` with ``gamma=0.4, learning_rate=0.002``, 1200 steps;
``IdentityEnvBox(eps=0.5)`` with ``learning_rate=1e-3``, 1000 steps; PPO with ``n_epochs=4,
n_steps=256``, A2C with its defaults otherwise. The score is the mean return of 20 evaluation
episodes (100: every action right); SB3's tests ask for 90. Prints one line per run and a table.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch as th
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.envs import IdentityEnvBox, IdentityEnvMultiBinary, IdentityEnvMultiDiscrete
from stable_baselines3.common.evaluation import evaluate_policy

from sb3_spiking import SpikingActorCriticPolicy

TASKS = {
    "MultiDiscrete": (lambda: IdentityEnvMultiDiscrete(4), dict(gamma=0.4, learning_rate=0.002), 1200),
    "MultiBinary": (lambda: IdentityEnvMultiBinary(4), dict(gamma=0.4, learning_rate=0.002), 1200),
    "Box": (lambda: IdentityEnvBox(eps=0.5), dict(learning_rate=1e-3), 1000),
}
ALGOS = {"PPO": (PPO, dict(n_epochs=4, n_steps=256)), "A2C": (A2C, {})}


def identity_score(algo: str, task: str, seed: int, spiking: bool = True, policy_kwargs: dict | None = None) -> float:
    """Train ``algo`` ("PPO"/"A2C") on ``task`` with SB3's identity-test settings; mean return of
    20 deterministic evaluation episodes."""
    make_env, task_kwargs, steps = TASKS[task]
    cls, algo_kwargs = ALGOS[algo]
    env = make_env()
    policy = SpikingActorCriticPolicy if spiking else "MlpPolicy"
    # a copy: A2C writes its RMSprop settings into the policy_kwargs dict it is given
    model = cls(
        policy,
        env,
        seed=seed,
        policy_kwargs=dict(policy_kwargs or {}) if spiking else None,
        device="cpu",
        **task_kwargs,
        **algo_kwargs,
    )
    model.learn(steps)
    mean, _ = evaluate_policy(model, env, n_eval_episodes=20, warn=False)
    return float(mean)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 0, 1, 2, 4])
    parser.add_argument("--algos", nargs="+", default=list(ALGOS), choices=list(ALGOS))
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--policy-kwargs", type=json.loads, default={}, help="JSON dict for the spiking policy")
    parser.add_argument("--no-ann", action="store_true", help="skip SB3's ANN policy")
    args = parser.parse_args()
    th.set_num_threads(1)
    rows = [("spiking", True)] + ([] if args.no_ann else [("ANN", False)])
    table: dict[tuple[str, str, str], list[float]] = {}
    for label, spiking in rows:
        for algo in args.algos:
            for task in args.tasks:
                for seed in args.seeds:
                    start = time.time()
                    score = identity_score(algo, task, seed, spiking, args.policy_kwargs)
                    table.setdefault((label, algo, task), []).append(score)
                    print(f"{label} {algo} {task} seed {seed}: {score:.1f} ({time.time() - start:.0f} s)", flush=True)
    print(f"\nseeds {args.seeds}; spiking policy_kwargs {args.policy_kwargs}\n")
    print("| policy | task | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean | runs >= 90 |")
    print("|---|---|" + "---|" * len(args.seeds) + "---|---|")
    for (label, algo, task), scores in table.items():
        cells = " | ".join(f"{s:.1f}" for s in scores)
        print(f"| {label} | {algo} {task} | {cells} | {np.mean(scores):.1f} | {sum(s >= 90 for s in scores)}/{len(scores)} |")
    for label, _ in rows:
        every = [s for (lab, _, _), scores in table.items() if lab == label for s in scores]
        print(f"{label}: mean {np.mean(every):.1f}, {sum(s >= 90 for s in every)}/{len(every)} runs >= 90")


if __name__ == "__main__":
    main()
