#!/usr/bin/env bash
# The T ablations of the README ("T ablation"): SpikingTD3 on Pendulum-v1 (RL Zoo settings, 20k
# steps) and DSQN on CartPole-v1 (hyperparams/dsqn.yml, with its StopTrainingWhenSolved rule),
# T = 1 2 4 8, seeds 0 1 2. Resumable: rerun after an interruption (finished runs are kept).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-1}
python -m sb3_spiking.sweep --algo spiking_td3 --env Pendulum-v1 --num-steps 1 2 4 8 --seeds 0 1 2 \
    --n-timesteps 20000 --jobs "$JOBS" --out benchmarks/results/sweep_spiking_td3_pendulum
python -m sb3_spiking.sweep --algo dsqn --env CartPole-v1 --num-steps 1 2 4 8 --seeds 0 1 2 \
    --jobs "$JOBS" --out benchmarks/results/sweep_dsqn_cartpole
