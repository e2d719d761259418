"""BCQ policy: an ANN VAE generator, a perturbation actor and twin critics (spiking on request).

Batch-Constrained deep Q-learning (Fujimoto, Meger, Precup, ICML 2019) acts only with actions that
resemble the dataset's: a conditional VAE ``G(a | s)`` proposes candidate actions, a perturbation
actor ``xi(s, a)`` shifts each by at most ``phi`` (in SB3's scaled action space [-1, 1]), and the
candidate with the highest ``Q1`` is taken. ACSF (Qin et al., IJCAI 2023) makes the actor and the
critics spiking; the VAE stays an ANN.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BaseModel, BasePolicy, ContinuousCritic
from stable_baselines3.common.preprocessing import get_action_dim
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor, create_mlp
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn

from sb3_spiking.common.mixins import SpikingPolicyMixin
from sb3_spiking.common.options import state_action_bounds
from sb3_spiking.snn import SpikingMLP, SpikingOptions
from sb3_spiking.snn.validation import check_int, check_real
from sb3_spiking.td3.policies import SpikingContinuousCritic

#: log-std range of the VAE encoder and range of the latent samples at decoding (BCQ's values).
VAE_LOG_STD_RANGE = (-4.0, 15.0)
VAE_LATENT_CLIP = 0.5


class VAE(BaseModel):
    """Conditional VAE ``G(a | s)`` (ANN): encoder ``(s, a) -> (mean, std)`` of a Gaussian latent,
    decoder ``(s, z) -> tanh(.)`` in the scaled action space.

    :param vae_arch: hidden widths of the encoder and of the decoder (BCQ: ``[750, 750]``).
    :param latent_dim: latent width (BCQ: twice the action dimension).
    Other parameters as SB3's ``BaseModel``.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        vae_arch: list[int],
        latent_dim: int,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        action_dim = get_action_dim(action_space)
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(*create_mlp(features_dim + action_dim, -1, vae_arch, activation_fn))
        self.mean = nn.Linear(vae_arch[-1], latent_dim)
        self.log_std = nn.Linear(vae_arch[-1], latent_dim)
        self.decoder = nn.Sequential(
            *create_mlp(features_dim + latent_dim, action_dim, vae_arch, activation_fn, squash_output=True)
        )

    def forward(self, obs: PyTorchObs, actions: th.Tensor) -> tuple[th.Tensor, th.Tensor, th.Tensor]:  # type: ignore[override]
        """Reconstruction, latent mean and latent std of ``actions`` given ``obs``."""
        features = self.extract_features(obs, self.features_extractor)
        hidden = self.encoder(th.cat([features, actions], dim=1))
        mean = self.mean(hidden)
        std = self.log_std(hidden).clamp(*VAE_LOG_STD_RANGE).exp()
        z = mean + std * th.randn_like(std)
        return self._decode(features, z), mean, std

    def decode(self, obs: PyTorchObs, z: th.Tensor | None = None) -> th.Tensor:
        """Candidate actions for ``obs``; latents default to N(0, 1) clipped to +-0.5 (as in BCQ)."""
        features = self.extract_features(obs, self.features_extractor)
        if z is None:
            z = th.randn(features.shape[0], self.latent_dim, device=features.device).clamp(-VAE_LATENT_CLIP, VAE_LATENT_CLIP)
        return self._decode(features, z)

    def _decode(self, features: th.Tensor, z: th.Tensor) -> th.Tensor:
        return self.decoder(th.cat([features, z], dim=1))


class PerturbationActor(BaseModel):
    """``xi_phi(s, a) = clip(a + phi * tanh(f(s, a)), -1, 1)``: shifts a candidate action by at most
    ``phi`` (scaled action space). ``f`` is an ANN MLP, or a spiking MLP when ``spiking_options``
    is given (its decoder output plays the role of the ANN's last layer).

    :param phi: largest perturbation, in units of half the action range (BCQ: 0.05).
    :param spiking_options: make ``f`` spiking with these options; ``None`` for the ANN.
    Other parameters as SB3's TD3 ``Actor``. A ``BaseModel``, not a policy: it acts only on
    candidate actions (:meth:`BCQPolicy.select_actions`).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        net_arch: list[int],
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        phi: float = 0.05,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        spiking_options: SpikingOptions | None = None,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor=features_extractor, normalize_images=normalize_images
        )
        self.net_arch = net_arch
        self.features_dim = features_dim
        self.phi = phi
        self.activation_fn = activation_fn
        self.spiking_options = spiking_options
        action_dim = get_action_dim(action_space)
        if spiking_options is None:
            body: nn.Module = nn.Sequential(*create_mlp(features_dim + action_dim, action_dim, net_arch, activation_fn))
        else:
            low, high = state_action_bounds(observation_space, features_extractor, features_dim, action_dim, normalize_images)
            body = SpikingMLP(features_dim + action_dim, action_dim, net_arch, spiking_options, low, high)
        self.net = body

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            net_arch=self.net_arch,
            features_dim=self.features_dim,
            phi=self.phi,
            activation_fn=self.activation_fn,
            features_extractor=self.features_extractor,
            spiking_options=self.spiking_options,
        )
        return data

    def forward(self, obs: PyTorchObs, actions: th.Tensor) -> th.Tensor:  # type: ignore[override]
        features = self.extract_features(obs, self.features_extractor)
        shift = self.phi * th.tanh(self.net(th.cat([features, actions], dim=1)))
        return (actions + shift).clamp(-1.0, 1.0)


class BCQPolicy(SpikingPolicyMixin, BasePolicy):
    """Policy of :class:`~sb3_spiking.bcq.SpikingBCQ`: VAE (ANN), perturbation actor and twin
    critics, with target copies of the actor and critics.

    Spiking by default, actor *and* critics (ACSF's setting: ``spiking_critic`` defaults to True
    here); ``spiking_critic=False`` keeps ANN critics; ``spiking=False`` gives plain BCQ. Spiking
    options as everywhere in the package (``num_steps``, ``encoder``, ``decoder``, ``beta``, ...).

    Acting (``predict``): ``n_action_samples_predict`` candidates per observation from the VAE,
    perturbed by the actor, and the one with the highest ``Q1`` is returned. The candidates are
    random draws, so even ``deterministic=True`` depends on torch's RNG (seed it for repeatable
    actions), as in BCQ.

    :param net_arch: hidden widths of the actor and critics (list) or ``dict(pi=[...], qf=[...])``;
        default ``[400, 300]`` (BCQ).
    :param vae_arch: hidden widths of the VAE encoder and decoder; default ``[750, 750]`` (BCQ).
    :param latent_dim: VAE latent width; default twice the action dimension (BCQ).
    :param phi: largest perturbation of the actor (scaled action space); BCQ: 0.05.
    :param n_critics: number of critics (2: clipped double Q).
    :param n_action_samples_predict: candidates per observation when acting; BCQ: 100.
    Other parameters as SB3's policies; ``features_extractor_class`` must give flat features
    (``FlattenExtractor`` by default).
    """

    training_mode_parts = ("actor", "critic", "vae")
    spiking_defaults: ClassVar[dict[str, Any]] = {"spiking_critic": True}
    actor: PerturbationActor
    actor_target: PerturbationActor
    critic: ContinuousCritic
    critic_target: ContinuousCritic
    vae: VAE

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Box,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        vae_arch: list[int] | None = None,
        latent_dim: int | None = None,
        phi: float = 0.05,
        n_critics: int = 2,
        n_action_samples_predict: int = 100,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        **spiking_kwargs: Any,
    ) -> None:
        self._init_spiking(spiking_kwargs)
        super().__init__(
            observation_space,
            action_space,
            features_extractor_class,
            features_extractor_kwargs,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            normalize_images=normalize_images,
            squash_output=True,
        )
        if not isinstance(action_space, spaces.Box):
            raise ValueError(f"BCQ needs a Box action space, got {action_space}")
        phi = check_real("phi", phi, 0.0, 2.0, note="largest perturbation in the scaled action space")
        if net_arch is None:
            net_arch = [400, 300]
        if isinstance(net_arch, dict):
            unknown = set(net_arch) - {"pi", "qf"}
            if unknown:
                raise ValueError(f"net_arch dict keys must be 'pi' and 'qf', got {sorted(unknown)}")
            actor_arch, critic_arch = list(net_arch.get("pi", [400, 300])), list(net_arch.get("qf", [400, 300]))
        else:
            actor_arch = critic_arch = list(net_arch)
        action_dim = get_action_dim(action_space)
        self.net_arch = net_arch
        self.vae_arch = [check_int("vae_arch entry", w) for w in (vae_arch if vae_arch is not None else [750, 750])]
        if not self.vae_arch:
            raise ValueError("vae_arch needs at least one hidden layer, e.g. [750, 750]")
        self.latent_dim = check_int("latent_dim", latent_dim if latent_dim is not None else 2 * action_dim)
        self.phi = float(phi)
        self.n_critics = check_int("n_critics", n_critics)
        self.n_action_samples_predict = check_int("n_action_samples_predict", n_action_samples_predict)
        self.activation_fn = activation_fn
        self.actor_arch, self.critic_arch = actor_arch, critic_arch
        self._build(lr_schedule)

    def _net_kwargs(self) -> dict[str, Any]:
        extractor = self.make_features_extractor()
        return dict(
            observation_space=self.observation_space,
            action_space=self.action_space,
            features_extractor=extractor,
            features_dim=extractor.features_dim,
            activation_fn=self.activation_fn,
            normalize_images=self.normalize_images,
        )

    def make_actor(self) -> PerturbationActor:
        options = self.spiking_options if self.spiking else None
        return PerturbationActor(net_arch=self.actor_arch, phi=self.phi, spiking_options=options, **self._net_kwargs()).to(
            self.device
        )

    def make_critic(self) -> ContinuousCritic:
        kwargs = dict(
            net_arch=self.critic_arch, n_critics=self.n_critics, share_features_extractor=False, **self._net_kwargs()
        )
        if self.spiking and self.spiking_critic:
            return SpikingContinuousCritic(**kwargs, spiking_options=self.spiking_options).to(self.device)
        return ContinuousCritic(**kwargs).to(self.device)

    def _build(self, lr_schedule: Schedule) -> None:
        self.actor = self.make_actor()
        self.actor_target = self.make_actor()
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.critic = self.make_critic()
        self.critic_target = self.make_critic()
        self.critic_target.load_state_dict(self.critic.state_dict())
        self.vae = VAE(vae_arch=self.vae_arch, latent_dim=self.latent_dim, **self._net_kwargs()).to(self.device)
        for part in (self.actor, self.critic, self.vae):
            part.optimizer = self.optimizer_class(part.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)
        # Target networks are only updated by polyak averaging, never put in training mode.
        self.actor_target.set_training_mode(False)
        self.critic_target.set_training_mode(False)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            net_arch=self.net_arch,
            vae_arch=self.vae_arch,
            latent_dim=self.latent_dim,
            phi=self.phi,
            n_critics=self.n_critics,
            n_action_samples_predict=self.n_action_samples_predict,
            activation_fn=self.activation_fn,
            features_extractor_class=self.features_extractor_class,
            features_extractor_kwargs=self.features_extractor_kwargs,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
        )
        return data

    def select_actions(self, obs: th.Tensor, n_samples: int) -> th.Tensor:
        """BCQ's action choice: for each observation, ``n_samples`` VAE candidates perturbed by the
        actor, and the one with the highest ``Q1`` (scaled action space)."""
        batch = obs.shape[0]
        repeated = obs.repeat_interleave(n_samples, dim=0)
        candidates = self.actor(repeated, self.vae.decode(repeated))
        q1 = self.critic.q1_forward(repeated, candidates).view(batch, n_samples)
        best = q1.argmax(dim=1)
        return candidates.view(batch, n_samples, -1)[th.arange(batch, device=obs.device), best]

    def _predict(self, observation: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        if not isinstance(observation, th.Tensor):
            raise ValueError("BCQ supports Box (not Dict) observations")
        return self.select_actions(observation, self.n_action_samples_predict)

    def forward(self, obs: PyTorchObs, deterministic: bool = False) -> th.Tensor:
        return self._predict(obs, deterministic)


MlpPolicy = BCQPolicy
