#!/usr/bin/env bash
# The MuJoCo learning runs of docs/mujoco.md: TD3, SpikingTD3 and SpikingTD3 with proxy_target on
# Hopper-v5 and Walker2d-v5, RL Zoo's TD3 settings (hyperparams/spiking_td3.yml: net [400, 300]),
# 100k env steps, seeds 0 1 2, evaluation (10 deterministic episodes) every 5000 steps.
# Resumable: rerun the same script after any interruption (finished runs are skipped, unfinished
# ones continue from their last checkpoint in logs/mujoco_ckpt, if that folder is still there).
# About 9 CPU-hours on 2 cores; two runs at a time, one torch thread each.
set -euo pipefail
cd "$(dirname "$0")/.."
for env in Hopper-v5 Walker2d-v5; do
    OMP_NUM_THREADS=1 python benchmarks/learning.py --env "$env" \
        --algos td3 spiking_td3 spiking_td3:proxy_target=True \
        --hyperparams hyperparams/spiking_td3.yml --seeds 0 1 2 --n-timesteps 100000 \
        --eval-freq 5000 --eval-episodes 10 --jobs 2 \
        --out benchmarks/results/mujoco.jsonl --checkpoint-dir logs/mujoco_ckpt --resume \
        --plot "docs/mujoco_${env%-v5}.png"
done
