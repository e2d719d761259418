"""``python -m sb3_spiking.sweep``: the T ablation (see :mod:`sb3_spiking.sweep`)."""

from __future__ import annotations

import argparse
import os


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sb3_spiking.sweep",
        description="Train one agent per num_steps (T) and seed with rl_zoo3 train; table and plot of return, "
        "energy per decision and latency against T. Rerun the same command to resume (finished runs are kept).",
    )
    parser.add_argument("--algo", required=True, help="RL Zoo algorithm name, e.g. spiking_td3, dsqn")
    parser.add_argument("--env", required=True)
    parser.add_argument("--num-steps", type=int, nargs="+", required=True, help="the values of T")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-timesteps", type=int, default=None, help="training budget (default: the zoo entry's)")
    parser.add_argument("--jobs", type=int, default=1, help="runs in parallel (one torch thread each)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("-conf", "--conf-file", default=None, help="hyperparameter file (default: as rl_zoo3 train)")
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--latency-repeats", type=int, default=200)
    parser.add_argument("-params", "--hyperparams", nargs="*", default=[], help="extra rl_zoo3 -params (key:value)")
    args = parser.parse_args(argv)

    from sb3_spiking.sweep import markdown_table, run_sweep, summarize
    from sb3_spiking.sweep.plots import plot_sweep
    from sb3_spiking.zoo import register

    register()
    results = run_sweep(
        args.algo,
        args.env,
        args.num_steps,
        args.seeds,
        args.out,
        n_timesteps=args.n_timesteps,
        jobs=args.jobs,
        conf=args.conf_file,
        n_eval_episodes=args.eval_episodes,
        latency_repeats=args.latency_repeats,
        extra_params=args.hyperparams,
    )
    rows = summarize(results)
    table = markdown_table(rows, args.algo, args.env)
    with open(os.path.join(args.out, "sweep.md"), "w") as f:
        f.write(f"# T ablation: {args.algo} on {args.env}\n\n{table}")
    plot_sweep(rows, args.algo, args.env, os.path.join(args.out, "sweep.png"))
    print("\n" + table)
    print(f"wrote {args.out}/sweep.md, {args.out}/sweep.png, {args.out}/results.jsonl")


if __name__ == "__main__":
    main()
