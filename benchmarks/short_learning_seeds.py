"""Seeds 0-2 of the short learning tests of tests/test_learning.py (what their thresholds rest on).

    python benchmarks/short_learning_seeds.py qrdqn tqc

Prints the mean eval return, wall time and CPU time (1 torch thread) of each seed.
"""

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests import test_learning as t

RUNS = {"qrdqn": t._qrdqn_cartpole_short, "tqc": t._tqc_pendulum_short}

if __name__ == "__main__":
    torch.set_num_threads(1)
    for name in sys.argv[1:] or list(RUNS):
        for seed in (0, 1, 2):
            start, cpu = time.time(), time.process_time()
            mean = RUNS[name](seed)
            print(
                f"{name} seed {seed}: {mean:.1f}  wall {time.time() - start:.0f} s  cpu {time.process_time() - cpu:.0f} s",
                flush=True,
            )
