"""Trajectories for sequence models: a Minari dataset as flat arrays plus context windows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Trajectories:
    """Every transition of a dataset, episodes back to back (M transitions in E episodes).

    Actions are stored as the transformer's context takes them: indices (Discrete) or scaled to
    [-1, 1] (Box). Returns-to-go are undiscounted sums of the episode's remaining rewards.
    """

    observations: np.ndarray  # [M, obs_dim] float32, flattened
    next_observations: np.ndarray  # [M, obs_dim]
    actions: np.ndarray  # [M] int64 or [M, act_dim] float32
    rewards: np.ndarray  # [M] float32
    returns_to_go: np.ndarray  # [M] float32
    timesteps: np.ndarray  # [M] int64, step within the episode
    episode_start: np.ndarray  # [M] int64, index of the episode's first transition
    episode_end: np.ndarray  # [M] int64, index one past the episode's last transition
    episode_returns: np.ndarray  # [E]
    episode_lengths: np.ndarray  # [E]

    @property
    def size(self) -> int:
        return len(self.rewards)

    @classmethod
    def from_episodes(
        cls,
        episodes: list[dict[str, np.ndarray]],
        encode_actions: Callable[[np.ndarray], np.ndarray],
    ) -> Trajectories:
        """Build from episodes with ``observations`` (n+1 entries, the last one final),
        ``actions`` and ``rewards`` (n entries). Empty episodes are skipped."""
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("obs", "next", "act", "rew", "rtg", "t", "start", "end")}
        returns, lengths, offset = [], [], 0
        for ep in episodes:
            rewards = np.asarray(ep["rewards"], dtype=np.float32).reshape(-1)
            n = len(rewards)
            if n == 0:
                continue
            obs = (
                np.asarray(ep["observations"], dtype=np.float32).reshape(n + 1, -1)
                if len(ep["observations"]) == n + 1
                else None
            )
            if obs is None:
                raise ValueError(f"an episode has {len(ep['observations'])} observations for {n} rewards (expected {n + 1})")
            parts["obs"].append(obs[:n])
            parts["next"].append(obs[1:])
            parts["act"].append(encode_actions(np.asarray(ep["actions"])[:n]))
            parts["rew"].append(rewards)
            parts["rtg"].append(np.cumsum(rewards[::-1], dtype=np.float64)[::-1].astype(np.float32))
            parts["t"].append(np.arange(n, dtype=np.int64))
            parts["start"].append(np.full(n, offset, dtype=np.int64))
            parts["end"].append(np.full(n, offset + n, dtype=np.int64))
            returns.append(float(rewards.sum(dtype=np.float64)))
            lengths.append(n)
            offset += n
        if not returns:
            raise ValueError("The dataset contains no transitions")
        cat = {k: np.concatenate(v) for k, v in parts.items()}
        return cls(
            cat["obs"],
            cat["next"],
            cat["act"],
            cat["rew"],
            cat["rtg"],
            cat["t"],
            cat["start"],
            cat["end"],
            np.asarray(returns),
            np.asarray(lengths),
        )

    @classmethod
    def from_minari(cls, dataset: Any, encode_actions: Callable[[np.ndarray], np.ndarray]) -> Trajectories:
        """Every episode of a ``MinariDataset`` (Box observations)."""
        episodes = []
        for episode in dataset.iterate_episodes():
            if isinstance(episode.observations, dict):
                raise ValueError(f"The dataset {dataset.id!r} has Dict observations: unsupported by the decision transformer")
            episodes.append({"observations": episode.observations, "actions": episode.actions, "rewards": episode.rewards})
        return cls.from_episodes(episodes, encode_actions)

    def window_indices(self, ends: np.ndarray, lengths: np.ndarray, context_len: int) -> tuple[np.ndarray, np.ndarray]:
        """Indices ``[B, K]`` and validity ``[B, K]`` of windows that end at transition ``ends``
        (inclusive) and hold ``lengths`` steps, left-padded to ``K = context_len`` (padding
        repeats the last index and is marked invalid)."""
        offsets = np.arange(context_len) - (context_len - 1)
        idx = ends[:, None] + offsets[None, :]
        valid = offsets[None, :] > -lengths[:, None]
        return np.where(valid, idx, ends[:, None]), valid

    def sample_windows(self, rng: np.random.Generator, batch_size: int, context_len: int) -> tuple[np.ndarray, np.ndarray]:
        """The DT's sampling: a uniformly random start transition, then up to ``context_len`` steps
        of its episode (shorter at the episode's end)."""
        starts = rng.integers(self.size, size=batch_size)
        ends = np.minimum(starts + context_len, self.episode_end[starts]) - 1
        return self.window_indices(ends, ends - starts + 1, context_len)

    def windows_ending_at_each_step(self, context_len: int) -> tuple[np.ndarray, np.ndarray]:
        """The context each transition was acted from (the last ``context_len`` steps of its episode)."""
        ends = np.arange(self.size)
        return self.window_indices(ends, np.minimum(ends - self.episode_start + 1, context_len), context_len)
