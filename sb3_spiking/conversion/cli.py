"""``python -m sb3_spiking.conversion`` (or, as before, ``python -m sb3_spiking.convert``): convert a
saved DQN at several T and compare it to the DQN.

    python -m sb3_spiking.conversion --model path/to/dqn.zip --env CartPole-v1 --num-steps 100 500

The DQN plays ``--n-frames`` calibration frames once (epsilon 0.05); for every T the same frames
give the scales (first 80%) and the ANN/SNN action agreement (last 20%). Each row reports the
converted agent's mean return over ``--n-episodes`` deterministic episodes (the same episode seeds
for every row and for the DQN), the agreement, and the energy per decision from
``energy_report`` on the held-out frames (0.9 pJ per accumulate, 4.6 pJ per MAC).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from stable_baselines3 import DQN
from stable_baselines3.common.evaluation import evaluate_policy

from sb3_spiking.common.energy import energy_report
from sb3_spiking.common.envs import make_eval_env
from sb3_spiking.conversion.dqn import CALIBRATION_EPS, convert_dqn, record_frames
from sb3_spiking.snn.validation import check_int

#: Seed offset of the evaluation episodes relative to the calibration play.
EVAL_SEED_OFFSET = 1000


def conversion_sweep(
    model: DQN,
    env_id: str,
    num_steps: Sequence[int],
    *,
    percentile: float = 99.9,
    n_frames: int = 10_000,
    held_out: float = 0.2,
    n_episodes: int = 10,
    energy_frames: int = 256,
    seed: int = 0,
    save_prefix: str | None = None,
) -> list[dict[str, Any]]:
    """One row per T (and a first row ``num_steps=None`` for the DQN itself): ``mean_return``,
    ``std_return``, ``agreement``, ``energy_j`` and ``energy_ratio`` (vs the same-shape ANN),
    ``firing_rate``, ``scales``.

    :param model: the trained DQN.
    :param env_id: Gymnasium id of the env it was trained on.
    :param num_steps: the T values to convert at.
    :param percentile: see :func:`~sb3_spiking.conversion.convert_dqn`.
    :param n_frames: calibration frames (played once, shared by every T).
    :param held_out: fraction of the frames used for the agreement (and the energy).
    :param n_episodes: evaluation episodes per row.
    :param energy_frames: held-out frames ``energy_report`` runs on.
    :param seed: calibration seed; evaluation episodes use ``seed + EVAL_SEED_OFFSET``.
    :param save_prefix: if given, each converted model is saved as ``<prefix>_T<T>.zip``.
    """
    energy_frames = check_int("energy_frames", energy_frames)
    frames = record_frames(model, make_eval_env(env_id, seed), n_frames, CALIBRATION_EPS, seed)
    held = frames[len(frames) - round(held_out * len(frames)) :][:energy_frames]
    eval_env = make_eval_env(env_id, seed + EVAL_SEED_OFFSET)

    def evaluate(agent: Any) -> tuple[float, float]:
        eval_env.seed(seed + EVAL_SEED_OFFSET)
        mean, std = evaluate_policy(agent, eval_env, n_eval_episodes=n_episodes, deterministic=True)
        return float(mean), float(std)

    def row(agent: Any, steps: int | None, agreement: float, scales: Any) -> dict[str, Any]:
        report = energy_report(agent, held) if len(held) else None
        mean, std = evaluate(agent)
        return {
            "num_steps": steps,
            "mean_return": mean,
            "std_return": std,
            "agreement": agreement,
            "energy_j": report["energy_j"] if report else None,
            "energy_ratio": 1.0 if steps is None else (report["energy_ratio"] if report else None),
            "firing_rate": report["firing_rate"] if report and steps is not None else None,
            "scales": scales,
        }

    rows = [row(model, None, 1.0, None)]
    for steps in num_steps:
        snn = convert_dqn(model, frames, num_steps=steps, percentile=percentile, held_out=held_out, seed=seed)
        rows.append(row(snn, steps, snn.conversion_report["agreement"], snn.conversion_report["scales"]))
        if save_prefix:
            snn.save(f"{save_prefix}_T{steps}")
    eval_env.close()
    return rows


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    """The rows of :func:`conversion_sweep` as a Markdown table."""

    def num(value: Any, fmt: str) -> str:
        return "n/a" if value is None else format(value, fmt)

    lines = [
        "| network | T | mean return | agreement | energy / decision (nJ) | vs ANN | firing rate |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        energy = None if row["energy_j"] is None else row["energy_j"] * 1e9
        lines.append(
            f"| {'DQN (ANN)' if row['num_steps'] is None else 'converted SNN'} | {row['num_steps'] or '-'} "
            f"| {row['mean_return']:.1f} +- {row['std_return']:.1f} | {num(row['agreement'], '.4f')} "
            f"| {num(energy, '.3f')} | {num(row['energy_ratio'], '.2f')}x | {num(row['firing_rate'], '.4f')} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sb3_spiking.convert",
        description="Convert a saved DQN into a spiking DSQN (IF neurons) at several T; print return, "
        "ANN/SNN action agreement and energy per decision for each T.",
    )
    parser.add_argument("--model", required=True, help="saved DQN (.zip)")
    parser.add_argument("--env", required=True, help="Gymnasium id (Atari ids get RL Zoo's Atari wrappers)")
    parser.add_argument("--num-steps", nargs="+", type=int, default=[500], help="T values")
    parser.add_argument("--percentile", type=float, default=99.9)
    parser.add_argument("--n-frames", type=int, default=10_000, help="calibration frames (20%% held out)")
    parser.add_argument("--n-episodes", type=int, default=10, help="evaluation episodes per T")
    parser.add_argument("--energy-frames", type=int, default=256, help="held-out frames for energy_report")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save-prefix", help="save each converted model as <prefix>_T<T>.zip")
    args = parser.parse_args(argv)
    model = DQN.load(args.model, device="cpu")
    rows = conversion_sweep(
        model,
        args.env,
        args.num_steps,
        percentile=args.percentile,
        n_frames=args.n_frames,
        n_episodes=args.n_episodes,
        energy_frames=args.energy_frames,
        seed=args.seed,
        save_prefix=args.save_prefix,
    )
    print(format_rows(rows))
