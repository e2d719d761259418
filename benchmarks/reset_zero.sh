#!/usr/bin/env bash
# What reset_mechanism="zero" (the NIR-exportable neuron) costs against the default "subtract":
# Pendulum-v1 SpikingTD3 (RL Zoo settings) and CartPole-v1 DSQN (hyperparams/dsqn.yml), seeds 0 1 2.
# The "subtract" rows are the README's "Learning results" (same commands without --policy-kwargs).
set -euo pipefail
cd "$(dirname "$0")/.."
out=benchmarks/results/reset_zero
python benchmarks/learning.py --env Pendulum-v1 --algos spiking_td3 --seeds 0 1 2 \
    --policy-kwargs '{"reset_mechanism": "zero"}' --out $out/pendulum.jsonl "$@"
python benchmarks/learning.py --env CartPole-v1 --algos dsqn --hyperparams hyperparams/dsqn.yml --seeds 0 1 2 \
    --policy-kwargs '{"reset_mechanism": "zero"}' --out $out/cartpole.jsonl "$@"
