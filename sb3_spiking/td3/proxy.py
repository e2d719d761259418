"""Proxy-target training for spiking TD3/DDPG actors (Xu et al., NeurIPS 2025, "Proxy Target").

TD3's critic targets use a polyak-averaged copy of the actor. For a spiking actor that copy is a
spiking network whose output moves in jumps (a spike more or less changes the action by a finite
step), which the paper finds destabilises training on MuJoCo. The fix: the critic targets use a
small continuous **ANN proxy** instead, trained after every actor update by MSE to reproduce the
spiking actor's (deterministic) actions on replay observations. The proxy exists only for
training: ``predict``, ``policy.save`` and the deployed network are the spiking actor alone.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.utils import polyak_update
from stable_baselines3.td3.policies import Actor
from torch import nn
from torch.nn import functional as F

from sb3_spiking.snn.network import set_train_mode
from sb3_spiking.snn.validation import check_bool, check_int, check_real

#: The paper's settings: a 512-512 ReLU ANN, 3 minibatches per actor update, Adam at lr 1e-3.
PROXY_TARGET_DEFAULTS: dict[str, Any] = dict(
    net_arch=[512, 512], n_updates=3, learning_rate=1e-3, batch_size=None, activation_fn=nn.ReLU
)


def resolve_proxy_target_kwargs(kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """``proxy_target_kwargs`` with the defaults filled in and every value checked.

    :param kwargs: any of ``net_arch`` (list of layer widths, default ``[512, 512]``),
        ``n_updates`` (minibatches per actor update, default 3), ``learning_rate`` (Adam, default
        1e-3), ``batch_size`` (default: the algorithm's ``batch_size``), ``activation_fn``
        (default ``nn.ReLU``).
    """
    if kwargs is None:
        kwargs = {}
    if not isinstance(kwargs, dict):
        raise TypeError(f"proxy_target_kwargs must be a dict, got {type(kwargs).__name__}")
    unknown = sorted(set(kwargs) - set(PROXY_TARGET_DEFAULTS))
    if unknown:
        raise ValueError(f"unknown proxy_target_kwargs key(s) {unknown}; allowed: {', '.join(PROXY_TARGET_DEFAULTS)}")
    out = {**PROXY_TARGET_DEFAULTS, **kwargs}
    net_arch = out["net_arch"]
    if not isinstance(net_arch, (list, tuple)) or not net_arch:
        raise ValueError(f"proxy_target_kwargs['net_arch'] must be a non-empty list of ints, got {net_arch!r}")
    out["net_arch"] = [check_int("proxy_target_kwargs['net_arch'] entries", width) for width in net_arch]
    out["n_updates"] = check_int("proxy_target_kwargs['n_updates']", out["n_updates"])
    out["learning_rate"] = check_real("proxy_target_kwargs['learning_rate']", out["learning_rate"], 0.0, low_open=True)
    if out["batch_size"] is not None:
        out["batch_size"] = check_int("proxy_target_kwargs['batch_size']", out["batch_size"])
    act = out["activation_fn"]
    if not (isinstance(act, type) and issubclass(act, nn.Module)):
        raise ValueError(f"proxy_target_kwargs['activation_fn'] must be an nn.Module class, got {act!r}")
    return out


class ProxyTargetMixin:
    """Adds ``proxy_target`` / ``proxy_target_kwargs`` to SB3's TD3 (and so DDPG).

    Put it first in the bases. With ``proxy_target=False`` (the default) nothing changes. With
    ``True``:

    - ``proxy_actor``: an SB3 TD3 ``Actor`` (ANN, own features extractor) with its own Adam
      optimizer, built in ``_setup_model`` and saved with the model (parameters and optimizer
      state), so a resumed run continues exactly;
    - critic targets use ``proxy_actor(next_obs)`` (plus TD3's target smoothing noise) instead of
      the polyak copy ``actor_target``, which is no longer updated;
    - after every actor update, ``n_updates`` fresh replay minibatches fit the proxy to the
      spiking actor's deterministic (eval-mode) actions by MSE (``train/proxy_loss`` in the log).
    """

    proxy_target: bool
    proxy_target_kwargs: dict[str, Any]
    proxy_actor: Actor | None

    def __init__(
        self,
        policy: Any,
        env: Any,
        *args: Any,
        proxy_target: bool = False,
        proxy_target_kwargs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self.proxy_target = check_bool("proxy_target", proxy_target)
        self.proxy_target_kwargs = resolve_proxy_target_kwargs(proxy_target_kwargs)
        if proxy_target_kwargs and not self.proxy_target:
            warnings.warn("proxy_target_kwargs is ignored because proxy_target=False", stacklevel=2)
        self.proxy_actor = None
        super().__init__(policy, env, *args, **kwargs)  # type: ignore[call-arg]

    def _setup_model(self) -> None:
        super()._setup_model()  # type: ignore[misc]
        self.proxy_actor = None
        if not self.proxy_target:
            return
        policy = self.policy  # type: ignore[attr-defined]
        if not getattr(policy, "spiking", False):
            raise ValueError(
                f"proxy_target=True needs a spiking actor, but policy_kwargs has spiking=False; "
                f"use plain {type(self).__name__} (polyak target) for the ANN twin, or drop spiking=False"
            )
        opts = self.proxy_target_kwargs
        features_extractor = policy.make_features_extractor()
        self.proxy_actor = Actor(
            policy.observation_space,
            policy.action_space,
            net_arch=list(opts["net_arch"]),
            features_extractor=features_extractor,
            features_dim=features_extractor.features_dim,
            activation_fn=opts["activation_fn"],
            normalize_images=policy.normalize_images,
        ).to(self.device)  # type: ignore[attr-defined]
        self.proxy_actor.optimizer = policy.optimizer_class(  # type: ignore[assignment]
            self.proxy_actor.parameters(), lr=opts["learning_rate"], **policy.optimizer_kwargs
        )

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "proxy_actor"]  # type: ignore[misc]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, tensors = super()._get_torch_save_params()  # type: ignore[misc]
        if self.proxy_actor is not None:
            state_dicts = [*state_dicts, "proxy_actor", "proxy_actor.optimizer"]
        return state_dicts, tensors

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        if self.proxy_actor is None:
            return super().train(gradient_steps, batch_size)  # type: ignore[misc]
        # SB3 2.9's TD3.train, with two changes (marked): the critic target's next actions come
        # from the proxy, and the actor's polyak update is replaced by fitting the proxy.
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])
        actor_losses, critic_losses, proxy_losses = [], [], []
        for _ in range(gradient_steps):
            self._n_updates += 1
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            discounts = replay_data.discounts if replay_data.discounts is not None else self.gamma
            with th.no_grad():
                noise = replay_data.actions.clone().data.normal_(0, self.target_policy_noise)
                noise = noise.clamp(-self.target_noise_clip, self.target_noise_clip)
                # changed: the proxy, not the polyak copy of the spiking actor
                next_actions = (self.proxy_actor(replay_data.next_observations) + noise).clamp(-1, 1)
                next_q_values = th.cat(self.critic_target(replay_data.next_observations, next_actions), dim=1)
                next_q_values, _ = th.min(next_q_values, dim=1, keepdim=True)
                target_q_values = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q_values

            current_q_values = self.critic(replay_data.observations, replay_data.actions)
            critic_loss = sum(F.mse_loss(current_q, target_q_values) for current_q in current_q_values)
            critic_losses.append(critic_loss.item())
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            if self._n_updates % self.policy_delay == 0:
                actor_loss = -self.critic.q1_forward(replay_data.observations, self.actor(replay_data.observations)).mean()
                actor_losses.append(actor_loss.item())
                self.actor.optimizer.zero_grad()
                actor_loss.backward()
                self.actor.optimizer.step()

                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.critic_batch_norm_stats, self.critic_batch_norm_stats_target, 1.0)
                # changed: fit the proxy to the updated actor instead of polyak-averaging a copy
                proxy_losses.append(self._fit_proxy(batch_size))

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        if actor_losses:
            self.logger.record("train/actor_loss", np.mean(actor_losses))
            self.logger.record("train/proxy_loss", np.mean(proxy_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))

    def _fit_proxy(self, batch_size: int) -> float:
        """``n_updates`` Adam steps of the proxy towards the actor's eval-mode actions; mean loss."""
        assert self.proxy_actor is not None
        opts = self.proxy_target_kwargs
        size = opts["batch_size"] or batch_size
        losses = []
        set_train_mode(self.actor, False)  # the actions predict() would give (e.g. rate coding without sampling)
        try:
            for _ in range(opts["n_updates"]):
                obs = self.replay_buffer.sample(size, env=self._vec_normalize_env).observations
                with th.no_grad():
                    target = self.actor(obs)
                loss = F.mse_loss(self.proxy_actor(obs), target)
                self.proxy_actor.optimizer.zero_grad()
                loss.backward()
                self.proxy_actor.optimizer.step()
                losses.append(loss.item())
        finally:
            set_train_mode(self.actor, True)
        return float(np.mean(losses))
