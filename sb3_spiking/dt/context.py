"""The ``predict`` state of a decision transformer: one context window per episode.

SB3's ``predict(obs, state, episode_start)`` carries recurrent state the way RecurrentPPO carries
an LSTM's (h, c); here the state is the last ``context_len`` steps of (return-to-go, observation,
action) of each episode, a :class:`DTContext`. :class:`ContextActingMixin` appends to it, resets
it where an episode starts, and acts on it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch as th
from stable_baselines3.common.utils import is_vectorized_observation


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


class ContextActingMixin:
    """``initial_context``, ``predict`` and the context update shared by evaluation and
    :meth:`~sb3_spiking.dt.fine_tune.ReinforceFineTuneMixin.fine_tune` (a mixin of
    :class:`~sb3_spiking.dt.SpikingDecisionTransformer`: it uses its ``policy``, ``device``,
    ``context_len``, ``observation_space`` and ``target_return``)."""

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

    def _validated_context(self, state: Any, n: int) -> DTContext:
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
        ctx = self.initial_context(n) if state is None else self._validated_context(state, n)
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
