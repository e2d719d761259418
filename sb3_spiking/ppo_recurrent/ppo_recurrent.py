"""SpikingRecurrentPPO: sb3-contrib's RecurrentPPO whose policy aliases name the spiking recurrent policies."""

from __future__ import annotations

from typing import ClassVar

from sb3_contrib import RecurrentPPO
from stable_baselines3.common.policies import BasePolicy

from sb3_spiking.common.mixins import SpikingAlgorithmMixin
from sb3_spiking.common.policies import ACTOR_CRITIC_ACTION_SPACES
from sb3_spiking.ppo_recurrent.policies import RECURRENT_ALIASES


class SpikingRecurrentPPO(SpikingAlgorithmMixin, RecurrentPPO):
    """sb3-contrib's ``RecurrentPPO`` with a spiking actor whose membranes are its memory: the same
    as ``RecurrentPPO(SpikingRecurrentActorCriticPolicy, ...)``, but ``"MlpLstmPolicy"``,
    ``"CnnLstmPolicy"`` and ``"MultiInputLstmPolicy"`` name the spiking policies (so RL Zoo's
    ``ppo_lstm`` configs run unchanged, as ``spiking_ppo_lstm``).

    Same parameters as :class:`sb3_contrib.RecurrentPPO`; spiking options go in ``policy_kwargs``
    (see :class:`~sb3_spiking.ppo_recurrent.policies.SpikingRecurrentActorCriticPolicy`).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = RECURRENT_ALIASES
    spiking_action_spaces = ACTOR_CRITIC_ACTION_SPACES
