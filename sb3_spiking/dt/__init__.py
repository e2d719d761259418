"""Decision transformers, spiking (SNN-DT) and ANN, trained offline from Minari datasets."""

from sb3_spiking.dt.dt import DecisionTransformer, DTContext, SpikingDecisionTransformer, evaluate_with_rewards
from sb3_spiking.dt.policies import DecisionTransformerPolicy, MlpPolicy

__all__ = [
    "DTContext",
    "DecisionTransformer",
    "DecisionTransformerPolicy",
    "MlpPolicy",
    "SpikingDecisionTransformer",
    "evaluate_with_rewards",
]
