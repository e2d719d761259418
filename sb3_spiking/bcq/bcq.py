"""SpikingBCQ: offline Batch-Constrained Q-learning with spiking actor and critics (ACSF)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, Schedule
from stable_baselines3.common.utils import polyak_update

from sb3_spiking.bcq.policies import BCQPolicy, MlpPolicy
from sb3_spiking.common.mixins import SpikingAlgorithmMixin, store_resolved_policy_kwargs
from sb3_spiking.offline.algorithm import OfflineAlgorithmMixin
from sb3_spiking.offline.datasets import check_spaces_match, dataset_to_replay_buffer
from sb3_spiking.snn.validation import check_int, check_real


class SpikingBCQ(OfflineAlgorithmMixin, SpikingAlgorithmMixin, OffPolicyAlgorithm):
    """Offline BCQ (Fujimoto, Meger, Precup, ICML 2019) whose perturbation actor and twin critics
    are spiking, as in ACSF (Qin, Yan, Tang, IJCAI 2023); the VAE generator stays an ANN.

    It learns from a fixed Minari dataset only: ``learn(total_timesteps)`` runs
    ``total_timesteps`` *gradient steps* on batches from the dataset and never steps the
    environment, which serves for evaluation (``evaluate_policy``, ``EvalCallback``) and for its
    spaces. Defaults are the BCQ/ACSF settings (lr 1e-3, batch 100, gamma 0.99, tau 0.005,
    lambda 0.75, phi 0.05, 10 sampled actions in the target).

    - ACSF: ``policy_kwargs=dict(encoder="learnable", decoder="learnable", num_steps=4)``
      (spiking actor and critics; ``spiking_critic=False`` keeps ANN critics);
    - rate coding: ``dict(encoder="rate", decoder="rate")``; max-over-time membrane readout:
      ``dict(decoder="membrane", membrane_readout="max")``;
    - plain ANN BCQ: ``policy_kwargs=dict(spiking=False)`` (also available as :class:`BCQ`).

    :param policy: ``"MlpPolicy"`` or a policy class.
    :param env: environment or id used for evaluation (Box actions); ``None`` recovers the
        dataset's own evaluation environment.
    :param dataset: a ``minari.MinariDataset``, a local Minari dataset id or a dataset directory
        (see :func:`sb3_spiking.offline.collect_dataset`). Its spaces must match ``env``'s. Not
        saved with the model (its id is): pass ``dataset=`` to ``load`` to train further from
        another copy.
    :param learning_rate: Adam learning rate of actor, critics and VAE (or a schedule).
    :param batch_size: transitions per gradient step.
    :param tau: polyak coefficient of the target actor and critics.
    :param gamma: discount factor.
    :param lmbda: weight of the smaller of the twin target Qs (the rest on the larger).
    :param n_action_samples: VAE candidates per next state in the target.
    :param policy_kwargs: policy options: spiking options, ``net_arch``, ``vae_arch``,
        ``latent_dim``, ``phi``, ``n_action_samples_predict``...; ``phi`` may also be given here.
    :param phi: largest perturbation of the actor (overrides ``policy_kwargs["phi"]``).

    Other parameters as SB3's off-policy algorithms.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": MlpPolicy}
    policy: BCQPolicy
    default_log_interval = 1000
    default_tb_log_name = "SpikingBCQ"
    algorithm_policy_kwargs = ("phi",)  # the phi argument

    def __init__(
        self,
        policy: str | type[BCQPolicy],
        env: GymEnv | str | None,
        dataset: Any = None,
        learning_rate: float | Schedule = 1e-3,
        batch_size: int = 100,
        tau: float = 0.005,
        gamma: float = 0.99,
        lmbda: float = 0.75,
        n_action_samples: int = 10,
        phi: float | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        env = self._init_dataset(dataset, env, _init_setup_model)
        policy_kwargs = dict(policy_kwargs or {})
        if phi is not None:
            policy_kwargs["phi"] = phi
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            buffer_size=1,  # replaced by the dataset's transitions in _setup_model
            learning_starts=0,
            batch_size=check_int("batch_size", batch_size),
            tau=check_real("tau", tau, 0.0, 1.0),
            gamma=check_real("gamma", gamma, 0.0, 1.0),
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            support_multi_env=True,
            seed=seed,
            sde_support=False,
            supported_action_spaces=(spaces.Box,),
        )
        self.lmbda = check_real("lmbda", lmbda, 0.0, 1.0)
        self.n_action_samples = check_int("n_action_samples", n_action_samples)
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self.policy = self.policy_class(self.observation_space, self.action_space, self.lr_schedule, **self.policy_kwargs)
        self.policy = self.policy.to(self.device)
        store_resolved_policy_kwargs(self)
        self.replay_buffer = None  # type: ignore[assignment]
        if self.dataset is not None:
            self._load_data()

    def _data_loaded(self) -> bool:
        return self.replay_buffer is not None

    def _load_data(self) -> None:
        """Fill ``replay_buffer`` with the dataset's transitions, actions in the scaled space."""
        dataset = self._open_dataset()
        check_spaces_match(dataset, self.observation_space, self.action_space, "the environment")
        buffer = dataset_to_replay_buffer(dataset, device=self.device)
        n = buffer.size()
        buffer.actions[:n] = self.policy.scale_action(buffer.actions[:n])
        self.replay_buffer = buffer
        self.buffer_size = buffer.buffer_size
        self.dataset, self.dataset_id = dataset, dataset.id

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "policy.actor.optimizer", "policy.critic.optimizer", "policy.vae.optimizer"], []

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """``gradient_steps`` BCQ updates of the VAE, the critics and the actor, then the targets."""
        policy = self.policy
        policy.set_training_mode(True)
        self._update_learning_rate([policy.actor.optimizer, policy.critic.optimizer, policy.vae.optimizer])
        vae_losses, critic_losses, actor_losses = [], [], []
        n = self.n_action_samples
        for _ in range(gradient_steps):
            data = self.replay_buffer.sample(batch_size)  # type: ignore[union-attr]

            reconstruction, mean, std = policy.vae(data.observations, data.actions)
            kl = -0.5 * (1 + th.log(std.pow(2)) - mean.pow(2) - std.pow(2)).mean()
            vae_loss = F.mse_loss(reconstruction, data.actions) + 0.5 * kl
            policy.vae.optimizer.zero_grad()
            vae_loss.backward()
            policy.vae.optimizer.step()

            with th.no_grad():
                next_obs = data.next_observations.repeat_interleave(n, dim=0)
                next_actions = policy.actor_target(next_obs, policy.vae.decode(next_obs))
                next_q = th.cat(policy.critic_target(next_obs, next_actions), dim=1)
                soft_min = self.lmbda * next_q.min(dim=1).values + (1.0 - self.lmbda) * next_q.max(dim=1).values
                next_value = soft_min.view(batch_size, n).max(dim=1).values.unsqueeze(1)
                target_q = data.rewards + (1 - data.dones) * self.gamma * next_value
            current_q = policy.critic(data.observations, data.actions)
            critic_loss = sum(F.mse_loss(q, target_q) for q in current_q)
            policy.critic.optimizer.zero_grad()
            critic_loss.backward()  # type: ignore[union-attr]
            policy.critic.optimizer.step()

            with th.no_grad():
                candidates = policy.vae.decode(data.observations)
            actor_loss = -policy.critic.q1_forward(data.observations, policy.actor(data.observations, candidates)).mean()
            policy.actor.optimizer.zero_grad()
            actor_loss.backward()
            policy.actor.optimizer.step()

            # Every parameter (learnable beta/threshold of spiking neurons included) is averaged.
            polyak_update(policy.critic.parameters(), policy.critic_target.parameters(), self.tau)
            polyak_update(policy.actor.parameters(), policy.actor_target.parameters(), self.tau)
            vae_losses.append(vae_loss.item())
            critic_losses.append(critic_loss.item())  # type: ignore[union-attr]
            actor_losses.append(actor_loss.item())

        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/vae_loss", float(np.mean(vae_losses)))
        self.logger.record("train/critic_loss", float(np.mean(critic_losses)))
        self.logger.record("train/actor_loss", float(np.mean(actor_losses)))


class BCQ(SpikingBCQ):
    """Plain (ANN) BCQ: :class:`SpikingBCQ` with ``policy_kwargs=dict(spiking=False)`` by default."""

    algorithm_policy_kwargs = ("phi", "spiking")

    def __init__(self, policy: str | type[BCQPolicy], env: GymEnv | str | None, dataset: Any = None, **kwargs: Any) -> None:
        policy_kwargs = {"spiking": False, **(kwargs.pop("policy_kwargs", None) or {})}
        super().__init__(policy, env, dataset, policy_kwargs=policy_kwargs, **kwargs)
