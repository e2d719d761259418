"""Spiking neural-network agents for Stable-Baselines3.

Public names are imported lazily (on first use), so ``import sb3_spiking`` stays cheap and
triggers no torch compilation.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "SpikingTD3": "sb3_spiking.td3",
    "SpikingDDPG": "sb3_spiking.ddpg",
    "DSQN": "sb3_spiking.dsqn",
    "SpikingPPO": "sb3_spiking.ppo",
    "SpikingSAC": "sb3_spiking.sac",
    "SpikingQRDQN": "sb3_spiking.qrdqn",
    "SpikingTQC": "sb3_spiking.tqc",
    "SpikingRecurrentPPO": "sb3_spiking.ppo_recurrent",
    "SpikingRecurrentActorCriticPolicy": "sb3_spiking.ppo_recurrent",
    "SpikingRecurrentActorCriticCnnPolicy": "sb3_spiking.ppo_recurrent",
    "SpikingRecurrentMultiInputActorCriticPolicy": "sb3_spiking.ppo_recurrent",
    "SpikingA2C": "sb3_spiking.a2c",
    "SpikingBCQ": "sb3_spiking.bcq",
    "BCQ": "sb3_spiking.bcq",
    "SpikingDecisionTransformer": "sb3_spiking.dt",
    "DecisionTransformer": "sb3_spiking.dt",
    "SpikingActorCriticPolicy": "sb3_spiking.common.policies",
    "SpikingActorCriticCnnPolicy": "sb3_spiking.common.policies",
    "SpikingMultiInputActorCriticPolicy": "sb3_spiking.common.policies",
    "SpikingMaskableActorCriticPolicy": "sb3_spiking.common.policies",
    "SpikeStatsCallback": "sb3_spiking.common.callbacks",
    "StopTrainingWhenSolved": "sb3_spiking.common.callbacks",
    "energy_report": "sb3_spiking.common.energy",
    "SpikingOptions": "sb3_spiking.snn.options",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from sb3_spiking.a2c import SpikingA2C
    from sb3_spiking.bcq import BCQ, SpikingBCQ
    from sb3_spiking.common.callbacks import SpikeStatsCallback, StopTrainingWhenSolved
    from sb3_spiking.common.energy import energy_report
    from sb3_spiking.common.policies import (
        SpikingActorCriticCnnPolicy,
        SpikingActorCriticPolicy,
        SpikingMaskableActorCriticPolicy,
        SpikingMultiInputActorCriticPolicy,
    )
    from sb3_spiking.ddpg import SpikingDDPG
    from sb3_spiking.dsqn import DSQN
    from sb3_spiking.dt import DecisionTransformer, SpikingDecisionTransformer
    from sb3_spiking.ppo import SpikingPPO
    from sb3_spiking.ppo_recurrent import (
        SpikingRecurrentActorCriticCnnPolicy,
        SpikingRecurrentActorCriticPolicy,
        SpikingRecurrentMultiInputActorCriticPolicy,
        SpikingRecurrentPPO,
    )
    from sb3_spiking.qrdqn import SpikingQRDQN
    from sb3_spiking.sac import SpikingSAC
    from sb3_spiking.snn.options import SpikingOptions
    from sb3_spiking.td3 import SpikingTD3
    from sb3_spiking.tqc import SpikingTQC


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sb3_spiking' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
