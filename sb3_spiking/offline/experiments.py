"""Building blocks of the offline commands (``python -m sb3_spiking.offline``), importable so
that worker processes of ``compare`` can unpickle them."""

from __future__ import annotations

import argparse
import json
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
    model = SpikingBCQ("MlpPolicy", job["env"], dataset=job["dataset"], policy_kwargs=policy_kwargs, seed=job["seed"], **job.get("kwargs", {}))
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


