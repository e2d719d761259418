"""Decision transformers, spiking (SNN-DT) and ANN, trained offline from Minari datasets."""

from sb3_spiking.dt.context import DTContext
from sb3_spiking.dt.dt import DecisionTransformer, SpikingDecisionTransformer
from sb3_spiking.dt.evaluation import evaluate_with_rewards
from sb3_spiking.dt.policies import DecisionTransformerPolicy, MlpPolicy

__all__ = [
    "DTContext",
    "DecisionTransformer",
    "DecisionTransformerPolicy",
    "MlpPolicy",
    "SpikingDecisionTransformer",
    "evaluate_with_rewards",
]
