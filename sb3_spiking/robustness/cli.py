"""``python -m sb3_spiking.robustness``: FGSM returns of saved models, a table and a PNG.

    python -m sb3_spiking.robustness --model dqn.zip dsqn.zip --algo dqn dsqn --env CartPole-v1 \\
        --epsilons 0 0.05 0.1 0.2 --n-episodes 10 --plot robustness.png
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm

from sb3_spiking.robustness.fgsm import fgsm_evaluate
from sb3_spiking.robustness.plots import plot_robustness


def _algorithms() -> dict[str, type[BaseAlgorithm]]:
    from sb3_spiking.a2c import SpikingA2C
    from sb3_spiking.dsqn import DSQN
    from sb3_spiking.ppo import SpikingPPO

    return {"dqn": DQN, "dsqn": DSQN, "ppo": PPO, "a2c": A2C, "spiking_ppo": SpikingPPO, "spiking_a2c": SpikingA2C}


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m sb3_spiking.robustness``: FGSM returns of saved models, a table and a PNG."""
    algos = _algorithms()
    parser = argparse.ArgumentParser(
        prog="python -m sb3_spiking.robustness",
        description="Mean return under FGSM observation perturbations, per epsilon, for saved SB3 models.",
    )
    parser.add_argument("--model", nargs="+", required=True, help="saved model files (.zip)")
    parser.add_argument("--algo", nargs="+", required=True, choices=sorted(algos), help="one per model, or one for all")
    parser.add_argument("--label", nargs="+", help="names in the table and plot (default: the file names)")
    parser.add_argument("--env", required=True, help="Gymnasium id (Atari ids get RL Zoo's Atari wrappers)")
    parser.add_argument("--epsilons", nargs="+", type=float, default=[0.0, 0.01, 0.05, 0.1])
    parser.add_argument("--n-episodes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", default="robustness.png", help="PNG to write")
    args = parser.parse_args(argv)
    if len(args.algo) not in (1, len(args.model)):
        parser.error("--algo takes one value for all models or one per model")
    if args.label and len(args.label) != len(args.model):
        parser.error("--label takes one value per model")
    names = args.label or [path.rsplit("/", 1)[-1].removesuffix(".zip") for path in args.model]
    kinds = args.algo * len(args.model) if len(args.algo) == 1 else args.algo
    curves: dict[str, dict[float, list[float]]] = {}
    for name, path, kind in zip(names, args.model, kinds, strict=True):
        model = algos[kind].load(path, device="cpu")
        curves[name] = fgsm_evaluate(  # type: ignore[assignment]
            model, args.env, args.epsilons, args.n_episodes, seed=args.seed, return_episode_rewards=True
        )
    print("| epsilon | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for eps in args.epsilons:
        cells = [f"{np.mean(curves[n][eps]):.1f} +- {np.std(curves[n][eps]):.1f}" for n in names]
        print(f"| {eps:g} | " + " | ".join(cells) + " |")
    plot_robustness(curves, args.plot, title=f"FGSM on {args.env}, {args.n_episodes} episodes per point")
    print(f"plot written to {args.plot}")
