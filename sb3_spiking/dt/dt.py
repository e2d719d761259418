"""SpikingDecisionTransformer: offline sequence-model RL with spiking attention (SNN-DT)."""

from __future__ import annotations

import pathlib
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm, maybe_make_env
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, Schedule

from sb3_spiking.common.mixins import match_stored_policy_kwargs, store_resolved_policy_kwargs
from sb3_spiking.dt.context import ContextActingMixin, DTContext
from sb3_spiking.dt.data import Trajectories
from sb3_spiking.dt.energy import context_energy_report
from sb3_spiking.dt.evaluation import evaluate_with_rewards
from sb3_spiking.dt.fine_tune import ReinforceFineTuneMixin
from sb3_spiking.dt.policies import (
    DecisionTransformerPolicy,
    check_action_space,
    check_observation_space,
)
from sb3_spiking.offline.algorithm import OfflineAlgorithmMixin
from sb3_spiking.offline.datasets import check_spaces_match, dataset_to_replay_buffer
from sb3_spiking.snn.validation import check_int, check_real

# DTContext and evaluate_with_rewards were defined here: old imports from sb3_spiking.dt.dt keep working.
__all__ = ["DTContext", "DecisionTransformer", "SpikingDecisionTransformer", "evaluate_with_rewards"]

SelfDT = TypeVar("SelfDT", bound="SpikingDecisionTransformer")


class SpikingDecisionTransformer(ReinforceFineTuneMixin, ContextActingMixin, OfflineAlgorithmMixin, BaseAlgorithm):
    """Decision Transformer (Chen et al., NeurIPS 2021) with spiking attention (SNN-DT, Pandey &
    Biswas 2025), trained offline from a Minari dataset, optionally fine-tuned online with
    REINFORCE (:meth:`fine_tune`).

    The policy models ``a_t`` given the last ``context_len`` steps of ``(return-to-go, state,
    action)``; at evaluation it is conditioned on ``target_return``. Spiking by default: Q/K/V
    (and the feed-forward hidden units) are LIF neurons run for ``num_steps``;
    ``policy_kwargs=dict(spiking=False)`` gives the ANN decision transformer (also available as
    :class:`DecisionTransformer`), ``policy_kwargs=dict(attention="spike_driven")`` the
    softmax-free spiking attention. See :class:`~sb3_spiking.dt.policies.DecisionTransformerPolicy`
    for every option.

    SB3-shaped: ``learn(n)`` runs ``n`` gradient steps on the dataset (the environment is not
    stepped); ``predict(obs, state, episode_start)`` carries the context windows of a batch of
    episodes in ``state`` (reset where ``episode_start`` is True), so ``evaluate_policy(model, env)``
    works with vectorised environments; ``save``/``load``; ``energy_report`` and
    ``SpikeStatsCallback`` (single-step contexts; :meth:`context_energy_report` measures full
    windows).

    **Return-to-go without rewards.** SB3's ``evaluate_policy`` never passes the rewards it
    receives to ``predict``, but the return-to-go must be decremented by them. The policy
    therefore carries a small ANN reward model ``r(s, a, s')`` trained on the dataset alongside the
    transformer; ``predict`` decrements by its prediction unless the caller passes the true
    rewards with ``rewards=`` (exact returns-to-go; :func:`evaluate_with_rewards` does so).

    :param env: environment or id, for its spaces and for evaluation (Discrete or Box actions, Box
        observations); ``None`` recovers the dataset's evaluation environment.
    :param dataset: a ``minari.MinariDataset``, a local dataset id or a dataset directory (see
        :func:`sb3_spiking.offline.collect_dataset`); its spaces must match ``env``'s. Not saved
        with the model (its id is).
    :param context_len: K, steps of history the policy sees (SNN-DT: 20).
    :param target_return: return to condition on at evaluation (finite; settable later through the
        ``target_return`` attribute). ``None``: the best episode return in the dataset.
    :param policy: ``"MlpPolicy"`` or a policy class.
    :param learning_rate: AdamW learning rate (or schedule), reached after ``warmup_steps``.
    :param batch_size: context windows per gradient step.
    :param warmup_steps: linear learning-rate warm-up, in gradient steps (the DT's schedule).
    :param max_grad_norm: gradient clipping of the transformer (DT: 0.25).
    :param policy_kwargs: spiking options (``num_steps``, ``beta``, ``threshold``, ``surrogate``, ...,
        ``spiking``) and transformer options (``hidden_dim``, ``n_layers``, ``n_heads``, ``dropout``,
        ``attention``, ``spiking_ffn``, ``reward_arch``, ...).

    Other parameters as SB3's algorithms.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {
        "MlpPolicy": DecisionTransformerPolicy,
        "DecisionTransformerPolicy": DecisionTransformerPolicy,
    }
    policy: DecisionTransformerPolicy
    default_log_interval = 100
    default_tb_log_name = "SpikingDecisionTransformer"
    #: ``policy_kwargs`` keys the class fills in itself (see ``SpikingAlgorithmMixin``).
    algorithm_policy_kwargs: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        env: GymEnv | str | None,
        dataset: Any = None,
        context_len: int = 20,
        target_return: float | None = None,
        policy: str | type[DecisionTransformerPolicy] = "MlpPolicy",
        learning_rate: float | Schedule = 1e-3,
        batch_size: int = 64,
        warmup_steps: int = 100,
        max_grad_norm: float = 0.25,
        policy_kwargs: dict[str, Any] | None = None,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: th.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        name = type(self).__name__
        self.context_len = check_int("context_len", context_len)
        self._target_return = (
            None if target_return is None else check_real("target_return", target_return, note="a return to condition on")
        )
        self.batch_size = check_int("batch_size", batch_size)
        self.warmup_steps = check_int("warmup_steps", warmup_steps)
        self.max_grad_norm = check_real("max_grad_norm", max_grad_norm, 0.0, low_open=True)
        self.max_ep_len: int | None = None
        self._data: Trajectories | None = None
        self.replay_buffer = None
        env = self._init_dataset(dataset, env, _init_setup_model)
        if self.dataset is not None:
            check_observation_space(self.dataset.observation_space, name)
            check_action_space(self.dataset.action_space, name)
        if env is not None:
            env = maybe_make_env(env, verbose)
            check_observation_space(env.observation_space, name)
            check_action_space(env.action_space, name)
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            support_multi_env=True,
            seed=seed,
            supported_action_spaces=(spaces.Discrete, spaces.Box),
        )
        if _init_setup_model:
            self._setup_model()

    # -- construction, data -----------------------------------------------------------------
    def _setup_model(self) -> None:
        self._setup_lr_schedule()
        self.set_random_seed(self.seed)
        self._rng = np.random.default_rng(self.seed)
        fresh = self.dataset is not None and self._data is None and self.max_ep_len is None
        if fresh:
            self._load_data()
        kwargs = {"max_ep_len": self.max_ep_len or 1000, **self.policy_kwargs}
        self.policy = self.policy_class(self.observation_space, self.action_space, self.lr_schedule, **kwargs)
        self.policy = self.policy.to(self.device)
        store_resolved_policy_kwargs(self)
        if fresh:
            assert self._data is not None
            data = self._data
            std = data.observations.std(0)
            self.policy.set_statistics(
                data.observations.mean(0),
                np.where(std > 1e-6, std, 1.0),
                float(np.abs(data.returns_to_go).max()) or 1.0,
                float(np.abs(data.rewards).max()) or 1.0,
            )
        if self._target_return is None and self._data is not None:
            self._target_return = float(self._data.episode_returns.max())
        self.policy.target_return = self._target_return or 0.0

    def _data_loaded(self) -> bool:
        return self._data is not None

    def _load_data(self) -> None:
        """Read the dataset into :class:`Trajectories` (and a replay buffer of its transitions, the
        observation source of ``SpikeStatsCallback``); check its spaces against the model's."""
        dataset = self._open_dataset()
        check_observation_space(dataset.observation_space, type(self).__name__)
        check_spaces_match(dataset, self.observation_space, self.action_space, "the environment")
        action_space = self.action_space
        if isinstance(action_space, spaces.Discrete):
            encode = lambda a: a.astype(np.int64).reshape(-1) - int(action_space.start)  # noqa: E731
        else:
            low, high = action_space.low.reshape(-1), action_space.high.reshape(-1)
            encode = lambda a: np.clip(  # noqa: E731
                2.0 * (a.reshape(len(a), -1) - low) / (high - low) - 1.0, -1.0, 1.0
            ).astype(np.float32)
        self._data = Trajectories.from_minari(dataset, encode)
        self.replay_buffer = dataset_to_replay_buffer(dataset, device=self.device)
        self.dataset, self.dataset_id = dataset, dataset.id
        if self.max_ep_len is None:
            spec_steps = getattr(getattr(dataset, "env_spec", None), "max_episode_steps", None) or 0
            self.max_ep_len = int(max(spec_steps, self._data.episode_lengths.max()))

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_data", "_rng"]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "policy.optimizer"], []

    @classmethod
    def load(  # type: ignore[override]
        cls: type[SelfDT],
        path: str | pathlib.Path | Any,
        env: GymEnv | None = None,
        device: th.device | str = "auto",
        target_return: float | None = None,
        **kwargs: Any,
    ) -> SelfDT:
        """SB3's ``load``; ``target_return`` overrides the saved one, ``dataset`` names the data to
        continue training from (default: the saved dataset id, loaded when ``learn`` runs).
        A ``policy_kwargs`` that resolves to the stored options is accepted (see
        :func:`~sb3_spiking.common.options.match_stored_policy_kwargs`)."""
        match_stored_policy_kwargs(cls, path, kwargs, kwargs.get("custom_objects"), cls.algorithm_policy_kwargs)
        model = super().load(path, env=env, device=device, **kwargs)
        if target_return is not None:
            model.target_return = target_return
        return model

    @property
    def target_return(self) -> float:
        """The return the policy is conditioned on at the start of each new episode (finite)."""
        return float(self._target_return or 0.0)

    @target_return.setter
    def target_return(self, value: float) -> None:
        self._target_return = check_real("target_return", value, note="a return to condition on")
        if getattr(self, "policy", None) is not None:
            self.policy.target_return = self._target_return

    # -- offline training -------------------------------------------------------------------
    def _batch(self, idx: np.ndarray, valid: np.ndarray) -> dict[str, th.Tensor]:
        data, dev = self._data, self.device
        assert data is not None
        return {
            "observations": th.as_tensor(data.observations[idx], device=dev),
            "next_observations": th.as_tensor(data.next_observations[idx], device=dev),
            "actions": th.as_tensor(data.actions[idx], device=dev),
            "rewards": th.as_tensor(data.rewards[idx], device=dev),
            "returns_to_go": th.as_tensor(data.returns_to_go[idx], device=dev),
            "timesteps": th.as_tensor(data.timesteps[idx], device=dev),
            "valid": th.as_tensor(valid, device=dev),
        }

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """``gradient_steps`` updates on random context windows: action loss (cross-entropy for
        Discrete, MSE of the tanh mean for Box) on every real step, plus the reward model's MSE."""
        policy, data = self.policy, self._data
        assert data is not None
        policy.set_training_mode(True)
        action_losses, reward_losses = [], []
        for _ in range(gradient_steps):
            lr = self.lr_schedule(self._current_progress_remaining) * min(1.0, (self._n_updates + 1) / self.warmup_steps)
            for group in policy.optimizer.param_groups:
                group["lr"] = lr
            idx, valid = data.sample_windows(self._rng, batch_size, self.context_len)
            b = self._batch(idx, valid)
            mask = b["valid"]
            out = policy.context_forward(
                b["observations"], b["actions"], b["returns_to_go"], b["timesteps"], None if valid.all() else mask
            )
            if policy.discrete:
                action_loss = F.cross_entropy(out[mask], b["actions"][mask])
            else:
                action_loss = F.mse_loss(th.tanh(out[mask]), b["actions"][mask])
            predicted = policy.predict_reward(b["observations"][mask], b["actions"][mask], b["next_observations"][mask])
            reward_loss = F.mse_loss(predicted / policy.reward_scale, b["rewards"][mask] / policy.reward_scale)
            policy.optimizer.zero_grad()
            (action_loss + reward_loss).backward()
            th.nn.utils.clip_grad_norm_(policy.net.parameters(), self.max_grad_norm)
            policy.optimizer.step()
            self._n_updates += 1
            action_losses.append(action_loss.item())
            reward_losses.append(reward_loss.item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/learning_rate", policy.optimizer.param_groups[0]["lr"])
        self.logger.record("train/action_loss", float(np.mean(action_losses)))
        self.logger.record("train/reward_loss", float(np.mean(reward_losses)))

    # -- measurement ------------------------------------------------------------------------
    def context_energy_report(self, n_windows: int = 256, seed: int = 0) -> dict[str, Any]:
        """``energy_report`` for full context windows (one decision as ``predict`` makes it
        mid-episode, per decision): see :func:`sb3_spiking.dt.energy.context_energy_report`.

        :param n_windows: windows drawn from the dataset.
        :param seed: seed of the draw.
        """
        return context_energy_report(self, n_windows, seed)


class DecisionTransformer(SpikingDecisionTransformer):
    """The ANN Decision Transformer: :class:`SpikingDecisionTransformer` with
    ``policy_kwargs=dict(spiking=False)`` by default."""

    algorithm_policy_kwargs = ("spiking",)

    def __init__(self, env: GymEnv | str | None, dataset: Any = None, **kwargs: Any) -> None:
        policy_kwargs = {"spiking": False, **(kwargs.pop("policy_kwargs", None) or {})}
        super().__init__(env, dataset, policy_kwargs=policy_kwargs, **kwargs)
