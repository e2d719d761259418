"""Energy per decision of the recurrent comparison's checkpoints (``benchmarks/learning.py``'s
``<out>.ckpt/<run>/step_<N>/``), each decision in the state it was taken in.

    python benchmarks/recurrent_energy.py --env CartPoleNoVel-v1 --ckpt benchmarks/results/recurrent.jsonl.ckpt

For every run folder: the latest checkpoint's policy plays 500 steps on the env (observations
normalised with the checkpoint's VecNormalize statistics, deterministic actions, the recurrent
state carried), and ``energy_report`` counts those decisions. The LSTM's cost depends on its
shape only, so it can be read off any checkpoint of the ``ppo_lstm`` row, finished or not.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym

sys.path.insert(0, str(Path(__file__).resolve().parent))
import learning


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="CartPoleNoVel-v1")
    parser.add_argument("--ckpt", default="benchmarks/results/recurrent.jsonl.ckpt")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--hyperparams", default="hyperparams/spiking_ppo_lstm.yml", help="for the LSTM's shape")
    args = parser.parse_args()

    import rl_zoo3.import_envs  # noqa: F401 (the *NoVel envs)
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_spiking import energy_report

    print("| run | checkpoint (steps) | energy per decision (nJ) | synaptic ops | MACs | firing rate |")
    print("|---|---|---|---|---|---|")
    # The LSTM's cost is its shape's: an untrained RecurrentPPO with the entry's settings gives it.
    from sb3_contrib import RecurrentPPO

    from sb3_spiking.zoo import settings

    hp, _, _ = settings.zoo_kwargs(args.hyperparams, args.env)
    spiking_only = (*learning.SPIKING_KEYS, "recurrent_synapses")
    lstm_kwargs = {k: v for k, v in hp["policy_kwargs"].items() if k not in spiking_only}
    lstm = RecurrentPPO("MlpLstmPolicy", args.env, policy_kwargs=lstm_kwargs, device="cpu", seed=0)
    r = energy_report(lstm, **learning.collect_observations(lstm, gym.make(args.env), args.steps))
    name = "ppo_lstm (the entry's shape; the cost does not depend on training)"
    print(f"| {name} | - | {r['energy_j'] * 1e9:.2f} | 0 | {r['macs']:.0f} | - |")
    for run_dir in sorted(Path(args.ckpt).iterdir()):
        ckpt = learning.latest_checkpoint(run_dir)
        if ckpt is None or args.env not in run_dir.name:
            continue
        algo = next(a for a in ("spiking_ppo_lstm", "spiking_ppo", "ppo_lstm") if run_dir.name.startswith(a + "_"))
        model = learning.algo_class(algo).load(ckpt / "model.zip", device="cpu")
        norm = None
        if (ckpt / "vecnormalize.pkl").exists():
            norm = VecNormalize.load(str(ckpt / "vecnormalize.pkl"), make_vec_env(args.env, n_envs=1))
            norm.training = False
        seen = learning.collect_observations(model, gym.make(args.env), args.steps, norm)
        r = energy_report(model, **seen)
        print(
            f"| {run_dir.name} | {ckpt.name[5:]} | {r['energy_j'] * 1e9:.2f} | {r['synaptic_ops']:.0f} | {r['macs']:.0f} "
            f"| {r['firing_rate']:.3f} |"
        )


if __name__ == "__main__":
    main()
