"""SpikingTQC policies: a spiking actor (as SpikingSAC's) and, on request, spiking quantile critics
inside sb3-contrib's TQC policy."""

from __future__ import annotations

from typing import Any

from gymnasium import spaces
from sb3_contrib.tqc.policies import Actor, Critic, TQCPolicy
from stable_baselines3.common.torch_layers import (
    CombinedExtractor,
    NatureCNN,
)

from sb3_spiking.common.mixins import with_features_extractor
from sb3_spiking.sac.policies import SpikingGaussianActorPolicyMixin, SpikingSACActor
from sb3_spiking.snn.validation import check_int
from sb3_spiking.td3.policies import init_spiking_critic


class SpikingTQCActor(SpikingSACActor, Actor):
    """Stochastic spiking actor of TQC: :class:`~sb3_spiking.sac.policies.SpikingSACActor` (one
    :class:`~sb3_spiking.snn.SpikingMLP` whose decoder outputs the Gaussian mean and log-std,
    squashed by tanh), also an instance of sb3-contrib's TQC ``Actor``.

    sb3-contrib's TQC ``Actor`` and SB3's SAC ``Actor`` have the same interface and the same
    methods (``get_action_dist_params``, ``action_log_prob``, ...), so the spiking SAC actor serves
    both; the second base only makes ``isinstance(actor, sb3_contrib.tqc.policies.Actor)`` hold.
    """


class SpikingQuantileCritic(Critic):
    """TQC's quantile critics as spiking MLPs over ``concat(features, action)``: each of the
    ``n_critics`` networks reads out ``n_quantiles`` values through the decoder, and ``forward``
    (sb3-contrib's) returns ``[B, n_critics, n_quantiles]``. Other parameters as sb3-contrib's
    TQC ``Critic``, plus ``spiking_options``; see :func:`~sb3_spiking.td3.policies.init_spiking_critic`."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        n_quantiles: int = 25,
        share_features_extractor: bool = False,
        **kwargs: Any,
    ) -> None:
        # kwargs: net_arch, features_extractor, features_dim, activation_fn, normalize_images,
        # n_critics, spiking_options (see init_spiking_critic).
        init_spiking_critic(
            self, n_quantiles, observation_space, action_space, share_features_extractor=share_features_extractor, **kwargs
        )
        self.n_quantiles = n_quantiles
        self.quantiles_total = n_quantiles * self.n_critics


class SpikingTQCPolicy(SpikingGaussianActorPolicyMixin, TQCPolicy):
    """TQC policy with a spiking actor (mean and log-std from the decoder, as SpikingSAC) and ANN
    quantile critics (spiking with ``spiking_critic=True``).

    Takes sb3-contrib's ``TQCPolicy`` parameters (``n_quantiles``, ``n_critics``, ...) plus the
    spiking options of docs/guide/spiking_options.md; ``spiking=False`` gives sb3-contrib's ANN policy.
    ``use_sde=True`` draws gSDE's noise from the spiking actor's last-layer firing rates.
    """

    spiking_actor_class = SpikingTQCActor
    spiking_critic_class = SpikingQuantileCritic

    def _sb3_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        arguments["n_quantiles"] = check_int("n_quantiles", arguments["n_quantiles"])
        arguments["n_critics"] = check_int("n_critics", arguments["n_critics"])
        return arguments


MlpPolicy = SpikingTQCPolicy


CnnPolicy = with_features_extractor(
    SpikingTQCPolicy,
    NatureCNN,
    "CnnPolicy",
    """:class:`SpikingTQCPolicy` on top of SB3's (ANN) NatureCNN features extractor.""",
)


MultiInputPolicy = with_features_extractor(
    SpikingTQCPolicy,
    CombinedExtractor,
    "MultiInputPolicy",
    """:class:`SpikingTQCPolicy` for Dict observations (SB3's CombinedExtractor).""",
)
