"""SAC policies with a spiking actor (and, on request, spiking critics)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.distributions import (
    SquashedDiagGaussianDistribution,
    StateDependentNoiseDistribution,
)
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import CombinedExtractor, NatureCNN
from stable_baselines3.common.type_aliases import PyTorchObs
from stable_baselines3.sac.policies import LOG_STD_MAX, LOG_STD_MIN, Actor, SACPolicy

from sb3_spiking.common import fast_predict
from sb3_spiking.common.mixins import SpikingActorCriticNetworksMixin, SpikingModelMixin, with_features_extractor
from sb3_spiking.snn import SpikingMLP
from sb3_spiking.td3.policies import SpikingContinuousCritic, init_spiking_actor


class SpikingSACActor(SpikingModelMixin, Actor):
    """Stochastic spiking actor: one :class:`~sb3_spiking.snn.SpikingMLP` whose decoder outputs
    ``2 * action_dim`` values, the Gaussian mean and log-std (clamped to SB3's range), squashed by
    tanh as in SB3's SAC. Parameters as SB3's SAC ``Actor`` plus ``spiking_options``; the network
    ones go through :func:`~sb3_spiking.td3.policies.init_spiking_actor`.

    With ``use_sde=True`` (gSDE) the decoder outputs the mean only (clipped to ``+-clip_mean`` as
    in SB3), the log-std is SB3's state-independent exploration matrix, and the noise is drawn
    from the firing rates (spike count / T) of the last hidden layer, the real-valued summary of
    what the decoder reads (SB3 draws it from the last hidden layer too); as in SB3's SAC the
    noise's gradient reaches that layer (``learn_features=True``), here through the surrogate.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        use_sde: bool = False,
        log_std_init: float = -3,
        full_std: bool = True,
        use_expln: bool = False,
        clip_mean: float = 2.0,
        **kwargs: Any,
    ) -> None:
        # kwargs: net_arch, features_extractor, features_dim, activation_fn, normalize_images,
        # spiking_options (see init_spiking_actor).
        low, high = init_spiking_actor(self, observation_space, action_space, **kwargs)
        self.use_sde = use_sde
        self.sde_features_extractor = None
        self.log_std_init = log_std_init
        self.use_expln = use_expln
        self.full_std = full_std
        self.clip_mean = clip_mean
        action_dim = get_action_dim(action_space)
        if use_sde:
            self.action_dist = StateDependentNoiseDistribution(
                action_dim, full_std=full_std, use_expln=use_expln, learn_features=True, squash_output=True
            )
            self.body = SpikingMLP(self.features_dim, action_dim, self.net_arch, self.spiking_options, low, high)
            rate_dim = self.body.hidden_sizes[-1]
            _, self.log_std = self.action_dist.proba_distribution_net(
                latent_dim=rate_dim, latent_sde_dim=rate_dim, log_std_init=log_std_init
            )
        else:
            self.action_dist = SquashedDiagGaussianDistribution(action_dim)  # type: ignore[assignment]
            self.body = SpikingMLP(self.features_dim, 2 * action_dim, self.net_arch, self.spiking_options, low, high)

    def get_action_dist_params(self, obs: PyTorchObs) -> tuple[th.Tensor, th.Tensor, dict[str, th.Tensor]]:
        features = self.extract_features(obs, self.features_extractor)
        if self.use_sde:
            mean_actions, rates = self.body.forward_with_rates(features)
            if self.clip_mean > 0.0:
                mean_actions = th.clamp(mean_actions, -self.clip_mean, self.clip_mean)
            return mean_actions, self.log_std, dict(latent_sde=rates)
        mean_actions, log_std = self.body(features).chunk(2, dim=-1)
        return mean_actions, th.clamp(log_std, LOG_STD_MIN, LOG_STD_MAX), {}


class SpikingGaussianActorPolicyMixin(SpikingActorCriticNetworksMixin):
    """Policy glue shared by the policies with a spiking squashed-Gaussian actor and twin (or more)
    critics (SpikingSAC, SpikingTQC): the spiking actor and, with ``spiking_critic=True``, spiking
    critics replace the SB3 networks (gSDE as in :class:`SpikingSACActor`); deterministic
    ``predict`` takes the NumPy route. Put it first in the bases, before the SB3 policy class.
    """

    def _numpy_net(self, deterministic: bool) -> tuple[Any, Any] | None:
        # Stochastic actions sample with torch's generator: only the deterministic mean here.
        return (self.actor.features_extractor, self.actor.body) if deterministic else None  # type: ignore[attr-defined]

    def _numpy_actions(self, out: np.ndarray, vectorized: bool) -> np.ndarray:
        if self.actor.use_sde:  # type: ignore[attr-defined]  # the decoder outputs the mean only, clipped as in get_action_dist_params
            clip = self.actor.clip_mean  # type: ignore[attr-defined]
            mean = np.clip(out, -clip, clip) if clip > 0.0 else out
        else:
            mean = np.ascontiguousarray(out[:, : out.shape[1] // 2])
        return fast_predict.finish_box_actions(self, fast_predict.tanh(mean), vectorized)


class SpikingSACPolicy(SpikingGaussianActorPolicyMixin, SACPolicy):
    """SAC policy with a spiking actor and ANN twin critics (spiking with ``spiking_critic=True``).

    Takes SB3's ``SACPolicy`` parameters plus the spiking options of docs/guide/spiking_options.md;
    ``spiking=False`` gives SB3's ANN policy. ``use_sde=True`` draws gSDE's noise from the spiking
    actor's last-layer firing rates (see :class:`SpikingSACActor`).
    """

    spiking_actor_class = SpikingSACActor
    spiking_critic_class = SpikingContinuousCritic


MlpPolicy = SpikingSACPolicy


CnnPolicy = with_features_extractor(
    SpikingSACPolicy,
    NatureCNN,
    "CnnPolicy",
    """:class:`SpikingSACPolicy` on top of SB3's (ANN) NatureCNN features extractor.""",
)


MultiInputPolicy = with_features_extractor(
    SpikingSACPolicy,
    CombinedExtractor,
    "MultiInputPolicy",
    """:class:`SpikingSACPolicy` for Dict observations (SB3's CombinedExtractor).""",
)
