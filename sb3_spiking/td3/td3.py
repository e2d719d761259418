"""SpikingTD3: TD3 with a spiking actor."""

from __future__ import annotations

from typing import ClassVar

from stable_baselines3 import TD3
from stable_baselines3.common.policies import BasePolicy

from sb3_spiking.common.mixins import SpikingAlgorithmMixin, sb3_policy_aliases
from sb3_spiking.td3.policies import (
    CnnPolicy,
    MlpPolicy,
    MultiInputPolicy,
    SpikingTD3Policy,
)
from sb3_spiking.td3.proxy import ProxyTargetMixin


class SpikingTD3(ProxyTargetMixin, SpikingAlgorithmMixin, TD3):
    """TD3 (Fujimoto et al., 2018) whose actor is a spiking network.

    Same parameters as :class:`stable_baselines3.TD3`; spiking options go in ``policy_kwargs``
    (see the option table, docs/guide/spiking_options.md), e.g. ``policy_kwargs=dict(num_steps=5, encoder="population")``.
    ``policy_kwargs=dict(spiking=False)`` runs plain TD3 through the same class.

    :param policy: ``"MlpPolicy"``, ``"CnnPolicy"``, ``"MultiInputPolicy"`` or a policy class.
    :param env: environment or its id; its action space must be ``Box``.
    :param proxy_target: critic targets use an ANN proxy of the spiking actor instead of its
        polyak copy (Xu et al., NeurIPS 2025); the proxy is trained after each actor update and
        used only for training (see :class:`~sb3_spiking.td3.proxy.ProxyTargetMixin`).
    :param proxy_target_kwargs: the proxy's ``net_arch`` ([512, 512]), ``n_updates`` (3 minibatches
        per actor update), ``learning_rate`` (1e-3), ``batch_size`` (the algorithm's),
        ``activation_fn`` (``nn.ReLU``).
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = sb3_policy_aliases(MlpPolicy, CnnPolicy, MultiInputPolicy)
    policy: SpikingTD3Policy
