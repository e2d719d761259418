"""Spiking actor-critic policies for SB3's PPO and A2C (and sb3-contrib's MaskablePPO).

``PPO(SpikingActorCriticPolicy, env, policy_kwargs=dict(num_steps=5))`` is all it takes: the actor
is a :class:`~sb3_spiking.snn.SpikingMLP` whose decoder outputs the action distribution's
parameters directly (logits for Discrete/MultiDiscrete/MultiBinary, the Gaussian mean for Box, with
SB3's state-independent ``log_std`` parameter), and the value network is SB3's ANN unless
``spiking_critic=True``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.torch_layers import (
    CombinedExtractor,
    MlpExtractor,
    NatureCNN,
)
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from sb3_spiking.common.mixins import SpikingPolicyMixin, with_features_extractor
from sb3_spiking.common.options import flat_feature_bounds
from sb3_spiking.snn import SpikingMLP, SpikingOptions
from sb3_spiking.snn.decoders import PopulationDecoder


def action_param_dim(action_space: spaces.Space) -> int:
    """Width of the vector the spiking actor outputs for ``action_space``: the Gaussian mean for Box
    (``log_std`` is SB3's separate parameter), logits for Discrete, MultiDiscrete and MultiBinary
    (SB3's and sb3-contrib's maskable distributions alike)."""
    if isinstance(action_space, spaces.Box):
        return int(np.prod(action_space.shape))
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, spaces.MultiDiscrete):
        return int(np.sum(action_space.nvec))
    if isinstance(action_space, spaces.MultiBinary):
        return int(np.prod(action_space.shape))
    raise ValueError(
        f"A spiking actor-critic policy does not support the action space {action_space}; "
        "supported: Box, Discrete, MultiDiscrete, MultiBinary"
    )


class SpikingMlpExtractor(MlpExtractor):
    """``MlpExtractor`` whose policy branch is a spiking MLP ending in the distribution parameters.

    ``forward_actor`` returns ``[B, n_params]`` (logits or Gaussian mean): the policy's
    ``action_net`` is then the identity. The value branch is SB3's ANN MLP (``latent_dim_vf`` =
    last ``vf`` width), or with ``spiking_critic`` a spiking MLP that outputs the value itself
    (``latent_dim_vf = 1``, ``value_net`` the identity).

    :param n_action_params: output width of the actor (see :func:`action_param_dim`).
    :param sde_latent: for gSDE (``use_sde=True``): ``forward_actor`` returns the distribution
        parameters followed by the firing rates ``[B, H_last]`` of the actor's last hidden layer,
        the latent gSDE's noise is drawn from (see ``SpikingActorCriticMixin``).
    :param obs_low: bounds of the features (for rate/population encoders), optional.
    :param obs_high: see ``obs_low``.
    Other parameters as SB3's ``MlpExtractor``.
    """

    def __init__(
        self,
        feature_dim: int,
        net_arch: list[int] | dict[str, list[int]],
        activation_fn: type[nn.Module],
        device: th.device | str,
        spiking_options: SpikingOptions,
        n_action_params: int,
        spiking_critic: bool = False,
        obs_low: np.ndarray | None = None,
        obs_high: np.ndarray | None = None,
        sde_latent: bool = False,
    ) -> None:
        if isinstance(net_arch, dict):
            pi_arch, vf_arch = list(net_arch.get("pi", [])), list(net_arch.get("vf", []))
        else:
            pi_arch = vf_arch = list(net_arch)
        if not pi_arch:
            raise ValueError(
                "A spiking actor needs at least one hidden layer: give net_arch a non-empty 'pi' list, "
                "e.g. net_arch=dict(pi=[64, 64], vf=[64, 64])"
            )
        if spiking_critic and not vf_arch:
            raise ValueError("spiking_critic=True needs at least one hidden layer in net_arch's 'vf' list")
        # SB3 builds the ANN value branch (and no ANN policy layers: pi=[]).
        super().__init__(feature_dim, dict(pi=[], vf=[] if spiking_critic else vf_arch), activation_fn, device)
        self.policy_net = SpikingMLP(feature_dim, n_action_params, pi_arch, spiking_options, obs_low, obs_high)
        self.latent_dim_pi = n_action_params
        self.n_action_params = n_action_params
        self.sde_latent = sde_latent
        if spiking_critic:
            self.value_net = SpikingMLP(feature_dim, 1, vf_arch, spiking_options, obs_low, obs_high)
            self.latent_dim_vf = 1
        self.to(device)
        # SB3's orthogonal init (ortho_init=True) would overwrite the spiking layers' init, which is
        # chosen so that every layer fires at start; keep a copy to restore after it.
        self._spiking_init = [{k: v.detach().clone() for k, v in m.state_dict().items()} for m in self.spiking_branches()]

    def forward_actor(self, features: th.Tensor) -> th.Tensor:
        if self.sde_latent:
            params, rates = self.policy_net.forward_with_rates(features)
            return th.cat([params, rates], dim=-1)
        return self.policy_net(features)

    def spiking_branches(self) -> list[SpikingMLP]:
        return [m for m in (self.policy_net, self.value_net) if isinstance(m, SpikingMLP)]

    def restore_spiking_init(self, output_gain: float | None) -> None:
        """Undo SB3's orthogonal init on the spiking branches; with ``output_gain``, give the actor's
        output layer SB3's small ``action_net`` init (orthogonal, gain 0.01: a near-uniform policy
        at start), unless the decoder is a population (its output layer is spiking)."""
        for module, state in zip(self.spiking_branches(), self._spiking_init, strict=True):
            module.load_state_dict(state)  # copies in place: the parameters stay the same objects
        del self._spiking_init
        decoder = self.policy_net.decoder
        if output_gain is not None and not isinstance(decoder, PopulationDecoder):
            nn.init.orthogonal_(decoder.linear.weight, gain=output_gain)
            nn.init.zeros_(decoder.linear.bias)


class SpikingSDEMixin:
    """gSDE (``use_sde=True``, Box actions) on a spiking actor whose output is ``[distribution
    parameters | firing rates of its last hidden layer]``: the noise of SB3's
    ``StateDependentNoiseDistribution`` is drawn from those rates (spike count / T), and the
    exploration matrix is sized by that layer (``[H_last, n_actions]`` with ``full_std``).
    Shared by the stateless (:class:`SpikingActorCriticMixin`) and recurrent actor-critic policies."""

    @property
    def _spiking_sde(self) -> bool:
        """gSDE on a spiking actor (SB3 uses gSDE for Box actions only; MaskablePPO has none)."""
        return self.spiking and getattr(self, "use_sde", False) and isinstance(self.action_space, spaces.Box)  # type: ignore[attr-defined]

    def _build_sde_log_std(self, rate_dim: int) -> None:
        """Replace the ``log_std`` SB3 sized for its ANN latent by one sized for ``rate_dim`` rates."""
        _, self.log_std = self.action_dist.proba_distribution_net(  # type: ignore[attr-defined]
            latent_dim=rate_dim,
            latent_sde_dim=rate_dim,
            log_std_init=self.log_std_init,  # type: ignore[attr-defined]
        )

    def _get_action_dist_from_latent(self, latent_pi: th.Tensor) -> Any:
        if self._spiking_sde:
            # the actor returned [mean | firing rates]: gSDE's noise is drawn from the rates.
            n_params = action_param_dim(self.action_space)  # type: ignore[attr-defined]
            return self.action_dist.proba_distribution(  # type: ignore[attr-defined]
                latent_pi[:, :n_params],
                self.log_std,
                latent_pi[:, n_params:],  # type: ignore[attr-defined]
            )
        return super()._get_action_dist_from_latent(latent_pi)  # type: ignore[misc]


class SpikingActorCriticMixin(SpikingSDEMixin, SpikingPolicyMixin):
    """What turns an SB3 actor-critic policy class into a spiking one (used with SB3's
    ``ActorCriticPolicy`` and sb3-contrib's ``MaskableActorCriticPolicy``).

    The default decoder here is ``"learnable"`` (a linear readout of the spikes of all T steps,
    ACSF's), not the package-wide ``"membrane"`` (max over time of a leaky integrator, Chen et
    al.'s readout for Q-values). Measured on SB3's identity tasks (PPO and A2C x MultiDiscrete /
    MultiBinary / Box, SB3's test settings, seeds 3 0 1 2 4; mean evaluation return, 100 = all
    correct): membrane 69.8 (4 of 30 runs >= 90), learnable 86.9 (16 of 30), SB3's ANN 90.0
    (18 of 30). With the max readout only the arg-max step's spikes get a gradient and each
    update moves the logits about a third of what an ANN's does; the linear readout of all T
    steps learns logits at the ANN's pace. Energy per decision is the same (each spike still
    costs one accumulate per output).
    """

    spiking_defaults: ClassVar[dict[str, Any]] = {"decoder": "learnable"}

    def _sb3_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        if self.spiking and arguments["net_arch"] is None and issubclass(arguments["features_extractor_class"], NatureCNN):
            arguments["net_arch"] = dict(pi=[256], vf=[])  # SB3 has no hidden layer after the CNN; a spiking actor needs one
        return arguments

    def _build_mlp_extractor(self) -> None:
        if not self.spiking:
            super()._build_mlp_extractor()  # type: ignore[misc]
            return
        low, high = flat_feature_bounds(self.observation_space, self.pi_features_extractor, self.normalize_images)  # type: ignore[attr-defined]
        self.mlp_extractor = SpikingMlpExtractor(
            self.features_dim,  # type: ignore[attr-defined]
            net_arch=self.net_arch,  # type: ignore[attr-defined]
            activation_fn=self.activation_fn,  # type: ignore[attr-defined]
            device=self.device,  # type: ignore[attr-defined]
            spiking_options=self.spiking_options,
            n_action_params=action_param_dim(self.action_space),  # type: ignore[attr-defined]
            spiking_critic=self.spiking_critic,
            obs_low=low,
            obs_high=high,
            sde_latent=self._spiking_sde,
        )

    def _build(self, lr_schedule: Schedule) -> None:
        super()._build(lr_schedule)  # type: ignore[misc]
        if not self.spiking:
            return
        # The decoder outputs the distribution parameters: no ANN layer on top of the spikes.
        self.action_net = nn.Identity()
        if self.spiking_critic:
            self.value_net = nn.Identity()
        if self._spiking_sde:
            # gSDE's exploration matrix is sized by the latent it multiplies: the last hidden layer.
            self._build_sde_log_std(self.mlp_extractor.policy_net.hidden_sizes[-1])  # type: ignore[attr-defined]
        self.mlp_extractor.restore_spiking_init(0.01 if self.ortho_init else None)  # type: ignore[attr-defined]
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)  # type: ignore[attr-defined]


class SpikingActorCriticPolicy(SpikingActorCriticMixin, ActorCriticPolicy):
    """SB3's ``ActorCriticPolicy`` with a spiking actor: a drop-in for ``PPO(...)`` and ``A2C(...)``.

    >>> model = PPO(SpikingActorCriticPolicy, "CartPole-v1", policy_kwargs=dict(num_steps=5))

    Takes SB3's ``ActorCriticPolicy`` parameters plus the spiking options (docs/guide/spiking_options.md);
    ``spiking_critic=True`` makes the value network spiking too, ``spiking=False`` gives SB3's ANN
    policy. Default ``net_arch``: ``dict(pi=[64, 64], vf=[64, 64])`` as SB3. With ``use_sde=True``
    (gSDE, Box actions) the noise is drawn from the firing rates (spike count / T) of the actor's
    last hidden layer, the real-valued summary of the layer the decoder reads; ``sde_sample_freq``,
    ``log_std_init``, ``full_std`` and ``use_expln`` mean what they mean in SB3.
    """


SpikingActorCriticCnnPolicy = with_features_extractor(
    SpikingActorCriticPolicy,
    NatureCNN,
    "SpikingActorCriticCnnPolicy",
    """:class:`SpikingActorCriticPolicy` for images: SB3's (ANN) NatureCNN features, shared with
    the critic as in SB3, feed the spiking actor (default ``net_arch=dict(pi=[256], vf=[])``).
    For a network that is spiking from the pixels on, see ``DSQN``'s ``CnnPolicy``.""",
)


SpikingMultiInputActorCriticPolicy = with_features_extractor(
    SpikingActorCriticPolicy,
    CombinedExtractor,
    "SpikingMultiInputActorCriticPolicy",
    """:class:`SpikingActorCriticPolicy` for Dict observations (SB3's ``CombinedExtractor``).""",
)


class SpikingMaskableActorCriticPolicy(SpikingActorCriticMixin, MaskableActorCriticPolicy):
    """sb3-contrib's ``MaskableActorCriticPolicy`` with a spiking actor, for ``MaskablePPO``
    (which requires its own policy base class): ``MaskablePPO(SpikingMaskableActorCriticPolicy, env)``.
    Masks apply to the logits the spiking decoder outputs. Options as :class:`SpikingActorCriticPolicy`.
    """


#: ``policy_aliases`` of :class:`~sb3_spiking.SpikingPPO` and :class:`~sb3_spiking.SpikingA2C`.
ACTOR_CRITIC_ALIASES: dict[str, type[BasePolicy]] = {
    "MlpPolicy": SpikingActorCriticPolicy,
    "CnnPolicy": SpikingActorCriticCnnPolicy,
    "MultiInputPolicy": SpikingMultiInputActorCriticPolicy,
}
#: Action spaces SB3's PPO and A2C support (and so do the spiking actor-critic policies).
ACTOR_CRITIC_ACTION_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


class SpikingOnPolicyMixin:
    """What :class:`~sb3_spiking.SpikingPPO` and :class:`~sb3_spiking.SpikingA2C` add to SB3's
    on-policy algorithms: the spiking actor-critic policies under SB3's three policy names, the
    action spaces they support, and SB3's CPU recommendation for the MLP policy."""

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = ACTOR_CRITIC_ALIASES
    spiking_action_spaces = ACTOR_CRITIC_ACTION_SPACES

    def _maybe_recommend_cpu(self, mlp_class_name: str = "ActorCriticPolicy") -> None:
        """Warn, as SB3 does for its ``MlpPolicy``, when the spiking MLP policy is put on a GPU.

        SB3's reason (batch-1 rollout steps of a small MLP are dominated by per-kernel launch cost,
        not arithmetic) holds more strongly for a spiking MLP: each LIF layer adds T small
        element-wise steps per forward, and the NumPy route that makes batch-1 decisions cheap
        runs on the CPU only. The CNN policy (as SB3's) is not warned about. Not yet measured
        on a GPU (no CUDA machine so far). ``PPO(SpikingActorCriticPolicy, ...)`` goes through
        SB3's own check, which matches only SB3's class name, so it does not warn.
        """
        super()._maybe_recommend_cpu(SpikingActorCriticPolicy.__name__)  # type: ignore[misc]
