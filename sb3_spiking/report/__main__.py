"""``python -m sb3_spiking.report``: the report of a trained agent, found as ``rl_zoo3 enjoy`` finds it."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sb3_spiking.report",
        description="Spike rasters, membrane traces, firing rates, energy by layer and latency of a trained spiking agent.",
    )
    parser.add_argument("--algo", required=True, help="RL Zoo algorithm name, e.g. spiking_td3, dsqn, spiking_ppo")
    parser.add_argument("--env", required=True, help="environment id, e.g. Pendulum-v1")
    parser.add_argument("-f", "--folder", default=None, help="RL Zoo log folder (as enjoy's -f)")
    parser.add_argument("--model", default=None, help="a saved model .zip instead of -f")
    parser.add_argument("--exp-id", type=int, default=0, help="run id in the log folder (0: latest)")
    parser.add_argument("--load-best", action="store_true", help="best_model.zip instead of the final model")
    parser.add_argument("--out", default=None, help="output folder (default: report_<algo>_<env>)")
    parser.add_argument("--n-episodes", type=int, default=1, help="evaluation episodes for the firing-rate figures")
    parser.add_argument("--max-steps", type=int, default=1000, help="at most this many decisions recorded")
    parser.add_argument("--latency-repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if (args.folder is None) == (args.model is None):
        parser.error("give exactly one of -f/--folder (RL Zoo log folder) and --model (a .zip)")

    from sb3_spiking.report import spiking_report
    from sb3_spiking.zoo import register
    from sb3_spiking.zoo.models import load_agent

    register()  # idempotent: the start-up hook has usually done it already

    agent = load_agent(args.algo, args.env, args.folder, args.model, args.exp_id, args.load_best, args.seed)
    out = args.out or f"report_{args.algo}_{args.env}"
    result = spiking_report(
        agent.model, agent.env, out, f"{args.algo} on {args.env}", args.n_episodes, args.max_steps, args.latency_repeats
    )
    e = result["energy"]
    print(f"model: {agent.model_path}")
    print(
        f"energy per decision {e['energy_j'] * 1e12:.1f} pJ vs ANN {e['ann_energy_j'] * 1e12:.1f} pJ "
        f"(ratio {e['energy_ratio']:.3f}); batch-1 latency {result['latency']['spiking_us']:.0f} us"
        + (f" vs ANN {result['latency']['ann_us']:.0f} us" if "ann_us" in result["latency"] else "")
    )
    print(f"wrote {out}/report.md and its figures")


if __name__ == "__main__":
    main()
