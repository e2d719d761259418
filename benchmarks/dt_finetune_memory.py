"""Peak memory (RSS) of SpikingDecisionTransformer.fine_tune, by ``minibatch_size``.

    python benchmarks/dt_finetune_memory.py --minibatch-size 512   # fine_tune's default
    python benchmarks/dt_finetune_memory.py --minibatch-size 128

CartPole-v1, T=5: a scripted balancing controller writes a 20k-transition Minari dataset (in a
temporary folder), the DT trains ``--gradient-steps`` on it, then fine-tunes for ``--env-steps``
environment steps. Each update recomputes the log-probabilities of every window of its
``episodes_per_update`` episodes, ``minibatch_size`` windows per forward pass: that pass is the
peak. Prints the process's peak RSS after each stage (about 1.5 minutes on one core).
"""

import argparse
import os
import resource
import tempfile
import time

import numpy as np


class Balance:
    """Scripted CartPole controller with SB3's ``predict``: push towards where the pole falls."""

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return np.array(int(obs[2] + 0.5 * obs[3] > 0)), None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minibatch-size", type=int, default=512)
    parser.add_argument("--gradient-steps", type=int, default=40)
    parser.add_argument("--env-steps", type=int, default=4000)
    args = parser.parse_args()
    os.environ["MINARI_DATASETS_PATH"] = tempfile.mkdtemp()

    import torch as th

    from sb3_spiking import SpikingDecisionTransformer
    from sb3_spiking.offline import collect_dataset

    th.set_num_threads(1)
    collect_dataset(Balance(), "CartPole-v1", 20_000, "cartpole/scripted-v0", seed=0)
    print(f"dataset written: peak RSS {peak_rss_mb():.0f} MB", flush=True)
    model = SpikingDecisionTransformer(
        "CartPole-v1",
        dataset="cartpole/scripted-v0",
        context_len=20,
        target_return=500,
        policy_kwargs=dict(num_steps=5),
        seed=0,
    )
    start = time.time()
    model.learn(args.gradient_steps)
    print(f"learn({args.gradient_steps}): {time.time() - start:.0f} s, peak RSS {peak_rss_mb():.0f} MB", flush=True)
    start = time.time()
    model.fine_tune("CartPole-v1", args.env_steps, minibatch_size=args.minibatch_size)
    print(
        f"fine_tune({args.env_steps}, minibatch_size={args.minibatch_size}): {time.time() - start:.0f} s, "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )


if __name__ == "__main__":
    main()
