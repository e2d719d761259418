"""SpikingDecisionTransformer: offline sequence-model RL with spiking attention (SNN-DT)."""

from __future__ import annotations

import math
import numbers
import pathlib
from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np
import torch as th
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm, maybe_make_env
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import check_for_correct_spaces, is_vectorized_observation
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

from sb3_spiking.common.options import match_stored_policy_kwargs
from sb3_spiking.dt.data import Trajectories
from sb3_spiking.dt.policies import DecisionTransformerPolicy, check_action_space, check_observation_space
from sb3_spiking.offline.algorithm import OfflineAlgorithmMixin
from sb3_spiking.offline.datasets import check_spaces_match, dataset_to_replay_buffer
from sb3_spiking.snn.accounting import OpCounter
from sb3_spiking.snn.options import check_int

SelfDT = TypeVar("SelfDT", bound="SpikingDecisionTransformer")


class DTContext(NamedTuple):
    """The context windows of ``n`` parallel episodes: the ``state`` that ``predict`` returns and
    takes back. Entries are right-aligned: the newest is at index ``K - 1`` and the last
    ``lengths[i]`` entries of row ``i`` are real (the others are stale or empty, and masked).
    """

    observations: np.ndarray  # [n, K, obs_dim] float32, raw (flattened) observations
    actions: np.ndarray  # [n, K] int64 indices, or [n, K, act_dim] float32 scaled to [-1, 1]
    returns_to_go: np.ndarray  # [n, K] float32, in reward units
    timesteps: np.ndarray  # [n, K] int64, step of each entry within its episode
    lengths: np.ndarray  # [n] int64, real entries (0: no episode yet)


def _check_finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number (a return to condition on), got {value!r}")
    return float(value)


def _check_positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < float(value) < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


class SpikingDecisionTransformer(OfflineAlgorithmMixin, BaseAlgorithm):
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
        self._target_return = None if target_return is None else _check_finite("target_return", target_return)
        self.batch_size = check_int("batch_size", batch_size)
        self.warmup_steps = check_int("warmup_steps", warmup_steps)
        self.max_grad_norm = _check_positive("max_grad_norm", max_grad_norm)
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
        self.policy_kwargs = {**self.policy_kwargs, **self.policy._spiking_constructor_parameters()}
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
        self._target_return = _check_finite("target_return", value)
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

    # -- acting -----------------------------------------------------------------------------
    def initial_context(self, n_envs: int) -> DTContext:
        """Empty context windows for ``n_envs`` episodes (what ``predict(state=None)`` starts from)."""
        k, policy = self.context_len, self.policy
        actions = np.zeros((n_envs, k), np.int64) if policy.discrete else np.zeros((n_envs, k, policy.action_dim), np.float32)
        return DTContext(
            np.zeros((n_envs, k, policy.obs_dim), np.float32),
            actions,
            np.zeros((n_envs, k), np.float32),
            np.zeros((n_envs, k), np.int64),
            np.zeros(n_envs, np.int64),
        )

    def _check_context(self, state: Any, n: int) -> DTContext:
        if not isinstance(state, tuple) or len(state) != len(DTContext._fields):
            raise ValueError(
                f"state must be the context that predict returned (a DTContext of {len(DTContext._fields)} arrays) "
                f"or None, got {type(state).__name__}"
            )
        ctx = DTContext(*state)
        if ctx.observations.shape != (n, self.context_len, self.policy.obs_dim):
            raise ValueError(
                f"state holds contexts of shape {ctx.observations.shape[:2]} (envs, context_len) but predict got "
                f"{n} observation(s) and context_len={self.context_len}; pass state=None to start new episodes"
            )
        return ctx

    def _advance(
        self,
        obs: np.ndarray,
        state: Any,
        episode_start: np.ndarray | None,
        deterministic: bool,
        rewards: np.ndarray | None,
    ) -> tuple[DTContext, np.ndarray]:
        """Append ``obs`` to each context (reset where an episode starts), act, write the action
        in. Returns the new context and the raw scaled samples (before clipping; Box)."""
        policy, n, k = self.policy, obs.shape[0], self.context_len
        ctx = self.initial_context(n) if state is None else self._check_context(state, n)
        starts = np.zeros(n, bool) if episode_start is None else np.asarray(episode_start, bool).reshape(n).copy()
        starts |= ctx.lengths == 0
        prev_rtg = ctx.returns_to_go[:, -1]
        if starts.all():
            received = np.zeros(n, np.float32)
        elif rewards is not None:
            received = np.asarray(rewards, np.float32).reshape(n)
        else:  # the reward model's estimate of the reward the last action earned
            with th.no_grad():
                received = (
                    policy.predict_reward(
                        th.as_tensor(ctx.observations[:, -1], device=self.device),
                        th.as_tensor(ctx.actions[:, -1], device=self.device),
                        th.as_tensor(obs, device=self.device),
                    )
                    .cpu()
                    .numpy()
                )
        rtg = np.where(starts, np.float32(self.target_return), prev_rtg - received).astype(np.float32)
        steps = np.where(starts, 0, ctx.timesteps[:, -1] + 1)
        lengths = np.where(starts, 1, np.minimum(ctx.lengths + 1, k))
        placeholder = np.zeros_like(ctx.actions[:, :1])
        ctx = DTContext(
            np.concatenate([ctx.observations[:, 1:], obs[:, None]], axis=1),
            np.concatenate([ctx.actions[:, 1:], placeholder], axis=1),
            np.concatenate([ctx.returns_to_go[:, 1:], rtg[:, None]], axis=1),
            np.concatenate([ctx.timesteps[:, 1:], steps[:, None]], axis=1),
            lengths,
        )
        width = int(lengths.max())  # only the steps some episode still sees
        valid = None if (lengths == width).all() else np.arange(width)[None, :] >= (width - lengths)[:, None]
        as_t = lambda a: th.as_tensor(a[:, k - width :], device=self.device)  # noqa: E731
        if policy.training:
            policy.set_training_mode(False)
        with th.no_grad():
            out = policy.context_forward(
                as_t(ctx.observations),
                as_t(ctx.actions),
                as_t(ctx.returns_to_go),
                as_t(ctx.timesteps),
                None if valid is None else th.as_tensor(valid, device=self.device),
                last_only=True,
            )
            chosen, raw = policy.select_actions(out, deterministic)
        ctx.actions[:, -1] = chosen.cpu().numpy()
        return ctx, raw.cpu().numpy()

    def predict(  # type: ignore[override]
        self,
        observation: np.ndarray,
        state: DTContext | tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = True,
        rewards: np.ndarray | None = None,
    ) -> tuple[np.ndarray, DTContext]:
        """Actions for a batch of episodes (or one observation), and their updated contexts.

        :param observation: ``[n_envs, *obs_shape]`` (or one observation).
        :param state: the contexts returned by the previous call, or ``None`` to start new episodes.
        :param episode_start: bool ``[n_envs]``: True where ``observation`` starts a new episode (its
            context is reset and its return-to-go set to ``target_return``); SB3's
            ``evaluate_policy`` passes the ``done`` flags here.
        :param deterministic: most likely action (default) or a sample (Discrete: from the softmax;
            Box: Gaussian with the policy's ``log_std``).
        :param rewards: ``[n_envs]`` rewards received after the previous actions, for exact
            returns-to-go; ``None`` uses the reward model's predictions (what ``evaluate_policy`` gets).
        :return: (actions, contexts), as SB3's ``predict``.
        """
        if isinstance(observation, dict):
            raise ValueError(f"{type(self).__name__} does not support Dict observations (unsupported)")
        obs = np.asarray(observation, dtype=np.float32)
        vectorized = is_vectorized_observation(obs, self.observation_space)
        obs = obs.reshape(-1, self.policy.obs_dim)
        ctx, _ = self._advance(obs, state, episode_start, deterministic, rewards)
        actions = self.policy.to_env_actions(ctx.actions[:, -1])
        if not vectorized:
            actions = actions.squeeze(axis=0)
        return actions, ctx

    # -- measurement ------------------------------------------------------------------------
    def context_energy_report(self, n_windows: int = 256, seed: int = 0) -> dict[str, Any]:
        """``energy_report`` for full context windows: spikes, operations and energy of one decision
        as ``predict`` makes it mid-episode (``context_len`` steps of history from the dataset,
        plus the reward model that decrements the return-to-go), per decision.

        :param n_windows: windows drawn from the dataset (ending at steps with a full history
            where the dataset has such steps).
        :param seed: seed of the draw.
        """
        if self._data is None:
            self._load_data()
        data, k = self._data, self.context_len
        assert data is not None
        rng = np.random.default_rng(seed)
        full = np.flatnonzero(data.timesteps >= k - 1)
        ends = rng.choice(full if len(full) else np.arange(data.size), size=check_int("n_windows", n_windows))
        idx, valid = data.window_indices(ends, np.minimum(data.timesteps[ends] + 1, k), k)
        b = self._batch(idx, valid)
        policy = self.policy
        was_training = policy.training
        policy.set_training_mode(False)
        try:
            with OpCounter(policy) as counter, th.no_grad():
                policy.context_forward(
                    b["observations"], b["actions"], b["returns_to_go"], b["timesteps"], None if valid.all() else b["valid"], True
                )
                policy.predict_reward(b["observations"][:, -2], b["actions"][:, -2], b["observations"][:, -1])
        finally:
            policy.set_training_mode(was_training)
        return counter.summary(len(ends))

    # -- online fine-tuning -----------------------------------------------------------------
    def fine_tune(
        self: SelfDT,
        env: GymEnv | str,
        total_timesteps: int,
        learning_rate: float = 1e-4,
        gamma: float = 1.0,
        episodes_per_update: int = 8,
        ent_coef: float = 0.0,
        minibatch_size: int = 512,
        callback: MaybeCallback = None,
        log_interval: int = 1,
        reset_num_timesteps: bool = True,
        tb_log_name: str = "SpikingDecisionTransformerFineTune",
        progress_bar: bool = False,
    ) -> SelfDT:
        """Online REINFORCE fine-tuning of the (offline-trained) policy for ``total_timesteps``
        **environment steps**.

        Episodes are played with sampled actions (Discrete: softmax; Box: Gaussian around the tanh
        mean with the learnable ``log_std``), each conditioned on ``target_return`` with exact
        returns-to-go (the true rewards are used). Every ``episodes_per_update`` complete episodes,
        one gradient step of ``-mean(log pi(a_t | context_t) * A_t) - ent_coef * entropy`` with
        ``A_t`` the return from t (discounted by ``gamma``) normalised over the batch (mean baseline),
        recomputed on exactly the context windows the actions were chosen from. Steps of an
        episode still running when the budget ends are not used.

        :param env: environment or id (its spaces must match the model's); it becomes the model's env.
        :param total_timesteps: environment steps.
        :param learning_rate: learning rate of the fine-tuning steps.
        :param gamma: discount of the REINFORCE returns.
        :param episodes_per_update: complete episodes per gradient step.
        :param ent_coef: entropy bonus.
        :param minibatch_size: windows per forward pass when recomputing log-probabilities
            (gradients are accumulated, one optimizer step per update). This pass sets the memory
            peak: on CartPole, 512 peaked at 3.5-3.9 GB RSS, 128 at 1.2 GB
            (``benchmarks/dt_finetune_memory.py``).

        Other parameters as :meth:`learn`.
        """
        total_timesteps = check_int("total_timesteps", total_timesteps, minimum=0)
        learning_rate = _check_positive("learning_rate", learning_rate)
        if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real) or not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be a number in [0, 1], got {gamma!r}")
        episodes_per_update = check_int("episodes_per_update", episodes_per_update)
        minibatch_size = check_int("minibatch_size", minibatch_size)
        env = maybe_make_env(env, self.verbose)
        check_observation_space(env.observation_space, type(self).__name__)
        vec_env = self._wrap_env(env, self.verbose)
        check_for_correct_spaces(vec_env, self.observation_space, self.action_space)
        self.n_envs = vec_env.num_envs  # offline training used another env (or none): any count works
        self.set_env(vec_env, force_reset=True)
        total_timesteps, callback = self._setup_learn(total_timesteps, callback, reset_num_timesteps, tb_log_name, progress_bar)
        callback.on_training_start(locals(), globals())
        assert self.env is not None
        n_envs = self.env.num_envs
        obs = np.asarray(self._last_obs, np.float32).reshape(n_envs, -1)
        starts = np.ones(n_envs, bool)
        received: np.ndarray | None = None
        ctx: DTContext | None = None
        running: list[list[tuple]] = [[] for _ in range(n_envs)]
        finished: list[dict[str, np.ndarray]] = []
        updates = 0
        while self.num_timesteps < total_timesteps:
            ctx, raw = self._advance(obs, ctx, starts, deterministic=False, rewards=received)
            new_obs, rewards, dones, infos = self.env.step(self.policy.to_env_actions(ctx.actions[:, -1]))
            self.num_timesteps += n_envs
            self._update_info_buffer(infos, dones)
            for i in range(n_envs):
                running[i].append(
                    (
                        ctx.observations[i, -1],
                        ctx.actions[i, -1],
                        raw[i],
                        ctx.returns_to_go[i, -1],
                        ctx.timesteps[i, -1],
                        rewards[i],
                    )
                )
                if dones[i]:
                    finished.append(self._episode_arrays(running[i]))
                    running[i] = []
            callback.update_locals(locals())
            if not callback.on_step():
                break
            obs, starts, received = np.asarray(new_obs, np.float32).reshape(n_envs, -1), dones, rewards
            if len(finished) >= episodes_per_update:
                self._reinforce_step(finished, learning_rate, gamma, ent_coef, minibatch_size)
                finished = []
                updates += 1
                if log_interval and updates % log_interval == 0:
                    self._dump_offline_logs("time/total_timesteps")
        callback.on_training_end()
        return self

    @staticmethod
    def _episode_arrays(steps: list[tuple]) -> dict[str, np.ndarray]:
        obs, actions, raw, rtg, timesteps, rewards = (np.asarray(x) for x in zip(*steps))
        return {"obs": obs, "actions": actions, "raw": raw, "rtg": rtg, "timesteps": timesteps, "rewards": rewards}

    def _reinforce_step(
        self, episodes: list[dict[str, np.ndarray]], learning_rate: float, gamma: float, ent_coef: float, minibatch_size: int
    ) -> None:
        policy, k, dev = self.policy, self.context_len, self.device
        returns = []
        for ep in episodes:
            g, out = 0.0, np.empty(len(ep["rewards"]), np.float32)
            for t in range(len(out) - 1, -1, -1):
                g = float(ep["rewards"][t]) + gamma * g
                out[t] = g
            returns.append(out)
        ret = np.concatenate(returns)
        adv = (ret - ret.mean()) / (ret.std() + 1e-8)
        lengths = np.array([len(ep["rewards"]) for ep in episodes])
        first = np.repeat(np.cumsum(lengths) - lengths, lengths)
        cat = {key: np.concatenate([ep[key] for ep in episodes]) for key in episodes[0]}
        ends = np.arange(len(ret))
        offsets = np.arange(k) - (k - 1)
        valid = offsets[None, :] > -np.minimum(ends - first + 1, k)[:, None]
        idx = np.where(valid, ends[:, None] + offsets[None, :], ends[:, None])
        policy.set_training_mode(False)  # as the actions were chosen: no dropout
        for group in policy.optimizer.param_groups:
            group["lr"] = learning_rate
        policy.optimizer.zero_grad()
        total, losses, entropies = len(ret), [], []
        for lo in range(0, total, minibatch_size):
            sl = slice(lo, lo + minibatch_size)
            win, ok = idx[sl], valid[sl]
            out = policy.context_forward(
                th.as_tensor(cat["obs"][win], device=dev),
                th.as_tensor(cat["actions"][win], device=dev),
                th.as_tensor(cat["rtg"][win], device=dev),
                th.as_tensor(cat["timesteps"][win], device=dev),
                None if ok.all() else th.as_tensor(ok, device=dev),
                last_only=True,
            )
            dist = policy.distribution(out)
            taken = th.as_tensor(cat["raw"][sl], device=dev)
            logp, entropy = dist.log_prob(taken), dist.entropy()
            if not policy.discrete:
                logp, entropy = logp.sum(-1), entropy.sum(-1)
            a = th.as_tensor(adv[sl], device=dev)
            loss = (-(logp * a).sum() - ent_coef * entropy.sum()) / total
            loss.backward()
            losses.append(float(loss.detach()) * total)
            entropies.append(float(entropy.detach().sum()))
        th.nn.utils.clip_grad_norm_(policy.net.parameters(), self.max_grad_norm)
        policy.optimizer.step()
        self._n_updates += 1
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/pg_loss", sum(losses) / total)
        self.logger.record("train/entropy", sum(entropies) / total)
        self.logger.record("train/episode_return", float(np.mean([ep["rewards"].sum() for ep in episodes])))


class DecisionTransformer(SpikingDecisionTransformer):
    """The ANN Decision Transformer: :class:`SpikingDecisionTransformer` with
    ``policy_kwargs=dict(spiking=False)`` by default."""

    algorithm_policy_kwargs = ("spiking",)

    def __init__(self, env: GymEnv | str | None, dataset: Any = None, **kwargs: Any) -> None:
        policy_kwargs = {"spiking": False, **(kwargs.pop("policy_kwargs", None) or {})}
        super().__init__(env, dataset, policy_kwargs=policy_kwargs, **kwargs)


def evaluate_with_rewards(
    model: SpikingDecisionTransformer, env: GymEnv, n_eval_episodes: int = 10, deterministic: bool = True
) -> tuple[float, float]:
    """``evaluate_policy`` with **exact** returns-to-go: the rewards each step returns are passed to
    ``model.predict(rewards=...)`` instead of the reward model's estimates.

    Episodes are spread over the environments as SB3's ``evaluate_policy`` does; returns are the
    summed rewards of each episode as the (vectorised) environment reports them.

    :return: mean and standard deviation of the episode returns.
    """
    n_eval_episodes = check_int("n_eval_episodes", n_eval_episodes)
    vec_env: VecEnv = env if isinstance(env, VecEnv) else DummyVecEnv([lambda: env])  # type: ignore[list-item, return-value]
    n_envs = vec_env.num_envs
    targets = np.array([(n_eval_episodes + i) // n_envs for i in range(n_envs)])
    counts, current = np.zeros(n_envs, int), np.zeros(n_envs)
    episode_returns: list[float] = []
    obs = vec_env.reset()
    state, starts, rewards = None, np.ones(n_envs, bool), None
    while (counts < targets).any():
        actions, state = model.predict(obs, state, starts, deterministic=deterministic, rewards=rewards)
        obs, rewards, dones, _ = vec_env.step(actions)
        current += rewards
        for i in np.flatnonzero(dones):
            if counts[i] < targets[i]:
                episode_returns.append(float(current[i]))
                counts[i] += 1
            current[i] = 0.0
        starts = dones
    return float(np.mean(episode_returns)), float(np.std(episode_returns))
