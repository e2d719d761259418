#!/usr/bin/env bash
# The ACSF offline comparison through RL Zoo: behaviour data (collected once), then the five modes
# x seeds with `rl_zoo3 train --algo spiking_bcq`. Run from the repository root:
#   bash zoo_configs/acsf/run.sh Hopper-v5            # seeds 0 1 2
#   bash zoo_configs/acsf/run.sh HalfCheetah-v5 0 1 2 3 4
# Results: logs/acsf_<mode>/spiking_bcq/<ENV>_<n>/ (evaluations.npz; rl_zoo3 all_plots reads them).
set -euo pipefail
ENV=${1:?usage: run.sh ENV_ID [SEEDS...]}
shift
SEEDS=${*:-0 1 2}
case "$ENV" in
  Hopper-v5) ID=hopper/td3-acsf-v0; TRAIN=1000000; N=1000000 ;;
  HalfCheetah-v5) ID=halfcheetah/td3-acsf-v0; TRAIN=1000000; N=1000000 ;;
  Pendulum-v1) ID=pendulum/td3-acsf-v0; TRAIN=20000; N=100000 ;;
  *) echo "run.sh knows Hopper-v5, HalfCheetah-v5 and Pendulum-v1 (add an entry to the yml files for others)" >&2; exit 2 ;;
esac
# ACSF's recipe: a TD3 behaviour policy, then N transitions with p=0.3 random actions, else policy + N(0, 0.3)
if ! python -c "import minari, sys; sys.exit('$ID' not in minari.list_local_datasets())"; then
  python -m sb3_spiking.offline collect --env "$ENV" --algo td3 --train-steps "$TRAIN" --n-steps "$N" \
    --dataset-id "$ID" --seed 0 --save-behaviour "logs/acsf_behaviour_${ENV}"
fi
for mode in acsf rate max ann_coders bcq; do
  for seed in $SEEDS; do
    rl_zoo3 train --algo spiking_bcq --env "$ENV" -conf "zoo_configs/acsf/$mode.yml" --seed "$seed" \
      --eval-freq 5000 --eval-episodes 10 -f "logs/acsf_$mode"
  done
done
