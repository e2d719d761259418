"""Batch-1 ``predict`` with and without the NumPy inference route, measured interleaved.

    python benchmarks/numpy_route.py [calls per round] [rounds]     (e.g. 1000 6)

Prints, per model, the median time per ``predict`` of the rounds with the route on (the default)
and off (``SpikingNetwork.numpy_inference = False``: everything through SB3's torch route). The
figure is quoted in ``SpikingMLP._numpy_path_ok``'s docstring.
"""

import statistics
import sys
import time

import numpy as np
import torch

from sb3_spiking import DSQN, SpikingPPO, SpikingTD3
from sb3_spiking.snn.network import SpikingNetwork

torch.set_num_threads(1)

models = {
    "SpikingTD3 Pendulum [400,300] T=5": SpikingTD3("MlpPolicy", "Pendulum-v1", seed=0),
    "SpikingTD3 Pendulum [256,256] T=5": SpikingTD3(
        "MlpPolicy", "Pendulum-v1", seed=0, policy_kwargs=dict(net_arch=[256, 256])
    ),
    "DSQN CartPole [64,64] T=5": DSQN("MlpPolicy", "CartPole-v1", seed=0),
    "SpikingPPO CartPole [64,64] T=5": SpikingPPO("MlpPolicy", "CartPole-v1", seed=0),
}
N, ROUNDS = (int(sys.argv[1]), int(sys.argv[2])) if len(sys.argv) > 2 else (1000, 6)
for name, m in models.items():
    obs = m.observation_space.sample().astype(np.float32)
    res = {True: [], False: []}
    for r in range(ROUNDS):
        for flag in (True, False) if r % 2 == 0 else (False, True):
            SpikingNetwork.numpy_inference = flag
            for _ in range(50):
                m.predict(obs, deterministic=True)
            t0 = time.perf_counter()
            for _ in range(N):
                m.predict(obs, deterministic=True)
            res[flag].append((time.perf_counter() - t0) / N * 1e6)
    SpikingNetwork.numpy_inference = True
    on, off = statistics.median(res[True]), statistics.median(res[False])
    print(
        f"{name}: NumPy route {on:.0f} us, torch route {off:.0f} us per predict (median of {ROUNDS} rounds x {N}); "
        f"torch/NumPy = {off / on:.2f}x; rounds on={[round(x) for x in res[True]]} off={[round(x) for x in res[False]]}",
        flush=True,
    )
