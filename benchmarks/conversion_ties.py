"""Are conversion disagreements near-ties? The DQN's Q gap on held-out frames where the converted SNN
disagrees, compared with the gap on all held-out frames.

    python benchmarks/conversion_ties.py --models /work/runs/conversion_robustness/dqn_seed1.zip \\
        /work/runs/conversion_robustness/dqn_seed2.zip --seeds 1 2 --num-steps 500

Uses the same calibration as ``benchmarks/conversion_robustness.py``: 10k frames at epsilon 0.05
with the model's seed, and the last 20% held out.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch as th
from stable_baselines3 import DQN

from sb3_spiking.common.envs import make_eval_env
from sb3_spiking.conversion import convert_dqn, record_frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--seeds", type=int, nargs="+", required=True, help="one per model (calibration seed)")
    parser.add_argument("--env", default="CartPole-v1")
    parser.add_argument("--num-steps", type=int, default=500)
    args = parser.parse_args()
    th.set_num_threads(1)
    print("| model | agreement | mean Q | median gap, all | median gap, disagreeing | 90th pct gap, disagreeing |")
    print("|---|---|---|---|---|---|")
    for path, seed in zip(args.models, args.seeds, strict=False):
        model = DQN.load(path, device="cpu")
        frames = record_frames(model, make_eval_env(args.env, seed), 10_000, seed=seed)
        held = frames[8000:]
        snn = convert_dqn(model, frames, num_steps=args.num_steps, seed=seed)
        with th.no_grad():
            q = model.q_net(model.policy.obs_to_tensor(held)[0]).numpy()
        top2 = np.sort(q, axis=1)[:, -2:]
        gap = top2[:, 1] - top2[:, 0]
        disagree = model.predict(held, deterministic=True)[0] != snn.predict(held, deterministic=True)[0]
        print(
            f"| {path} | {snn.conversion_report['agreement']:.4f} | {q.mean():.2f} | {np.median(gap):.4f} "
            f"| {np.median(gap[disagree]):.4f} | {np.percentile(gap[disagree], 90):.4f} |"
        )


if __name__ == "__main__":
    main()
