"""Page faults and time of one SpikingTD3 actor forward + backward, with and without the
allocator setting of ``sb3_spiking/snn/allocator.py`` (each in a fresh process).

    python benchmarks/page_faults.py

Actor: Pendulum-v1, net [256, 256], T=5, batch 256, 1 torch thread; 30 warm-up passes, then the
mean over 100 passes of minor page faults (``getrusage``) and wall time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

MEASURE = """
import json, resource, time
import torch
torch.set_num_threads(1)
from sb3_spiking import SpikingTD3
model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[256, 256], num_steps=5), seed=0, device="cpu")
obs = torch.randn(256, 3)
def step():
    model.actor(obs).sum().backward()
for _ in range(30):
    step()
faults0, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
for _ in range(100):
    step()
print(json.dumps(dict(faults=(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0) / 100,
                      ms=(time.perf_counter() - start) * 10)))
"""


def measure(keep_memory: bool) -> dict:
    env = dict(os.environ, SB3_SPIKING_KEEP_MEMORY="1" if keep_memory else "0")
    out = subprocess.run([sys.executable, "-c", MEASURE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    print("| allocator | minor page faults per forward + backward | ms per forward + backward |")
    print("|---|---|---|")
    for keep in (False, True):
        r = measure(keep)
        label = "freed memory kept (default)" if keep else "glibc defaults (SB3_SPIKING_KEEP_MEMORY=0)"
        print(f"| {label} | {r['faults']:.0f} | {r['ms']:.1f} |")


if __name__ == "__main__":
    main()
