"""Behaviour datasets for offline RL, stored as Minari datasets.

- :func:`collect_dataset` plays an SB3 model in an environment with the ACSF/BCQ behaviour noise
  (probability ``random_prob`` of a uniformly random action, else the policy's action plus
  Gaussian noise) and writes the transitions as a local Minari dataset.
- :func:`load_dataset` opens a dataset given its id, its directory or the dataset itself, with a
  clear error when it is missing.
- :func:`dataset_to_replay_buffer` copies any Minari dataset (ours or a downloaded one) into an SB3
  ``ReplayBuffer``, which is what the offline algorithms sample from.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer

from sb3_spiking.snn.validation import check_int, check_real

#: Collection recipe of ACSF (Qin et al., 2023) and BCQ (Fujimoto et al., 2019): see REFERENCES.md.
DEFAULT_RANDOM_PROB = 0.3
DEFAULT_NOISE_STD = 0.3


def _import_minari() -> Any:
    try:
        import minari
    except ImportError as exc:  # pragma: no cover - minari is a hard dependency
        raise ImportError("Offline RL needs Minari: pip install 'minari[hdf5]'") from exc
    return minari


def behaviour_action(
    model: Any, obs: np.ndarray, action_space: spaces.Space, rng: np.random.Generator, random_prob: float, noise_std: float
) -> np.ndarray | int:
    """One behaviour action for a single observation (the ACSF/BCQ recipe).

    With probability ``random_prob`` a uniformly random action; otherwise the model's deterministic
    action, plus (Box actions) Gaussian noise of standard deviation ``noise_std`` times half the
    action range (``noise_std * max_action`` for symmetric bounds, as in BCQ's
    ``generate_buffer``), clipped to the bounds. For Discrete actions there is no Gaussian noise:
    only the random actions perturb the policy.
    """
    if isinstance(action_space, spaces.Box):
        low, high = action_space.low, action_space.high
        if rng.random() < random_prob:
            return rng.uniform(low, high).astype(action_space.dtype)
        action, _ = model.predict(obs, deterministic=True)
        noise = rng.normal(0.0, noise_std, size=action_space.shape) * (high - low) / 2.0
        return np.clip(action + noise, low, high).astype(action_space.dtype)
    if rng.random() < random_prob:
        return int(rng.integers(action_space.n))
    action, _ = model.predict(obs, deterministic=True)
    return int(action)


def collect_dataset(
    model: Any,
    env_id: str,
    n_steps: int,
    dataset_id: str,
    seed: int = 0,
    random_prob: float = DEFAULT_RANDOM_PROB,
    noise_std: float = DEFAULT_NOISE_STD,
    env_kwargs: dict[str, Any] | None = None,
    description: str | None = None,
) -> Any:
    """Play ``model`` in ``env_id`` for ``n_steps`` transitions and write a local Minari dataset.

    Behaviour actions follow the ACSF/BCQ recipe (:func:`behaviour_action`): probability
    ``random_prob`` of a uniformly random action, else the deterministic policy action plus
    N(0, ``noise_std``) noise (scaled by half the action range) clipped to the bounds. Episodes are
    reset whenever they end; the last, unfinished one is stored as truncated. The environment,
    its action space and the noise are seeded from ``seed``, so the same call writes the same
    transitions.

    The dataset is written under Minari's local root (``$MINARI_DATASETS_PATH``, default
    ``~/.minari/datasets``); nothing is downloaded.

    :param model: a trained SB3 model (TD3, DDPG, SAC, PPO, DQN, a spiking one...) that takes the
        environment's raw observations (a model trained with ``VecNormalize`` needs its
        normalisation applied first: not supported here), or any object with SB3's
        ``predict(obs, deterministic=True) -> (action, state)`` (e.g. a scripted controller).
    :param env_id: Gymnasium id of the environment.
    :param n_steps: number of transitions to collect (>= 1).
    :param dataset_id: Minari id ``[namespace/]name-v<version>``, e.g. ``"pendulum/td3-acsf-v0"``;
        must not exist yet.
    :param seed: seed of the environment, the action sampling and the noise.
    :param random_prob: probability of a uniformly random action, in [0, 1].
    :param noise_std: standard deviation of the Gaussian action noise, as a fraction of half the
        action range (>= 0; Box actions only).
    :param env_kwargs: keyword arguments for ``gym.make``.
    :param description: dataset description stored in its metadata.
    :return: the ``minari.MinariDataset`` that was written.
    """
    minari = _import_minari()
    if not callable(getattr(model, "predict", None)):
        raise TypeError(
            "collect_dataset needs a trained SB3 model (e.g. TD3.load(...)) or any object with SB3's "
            f"predict(obs, deterministic=True) -> (action, state), got {type(model).__name__}"
        )
    n_steps = check_int("n_steps", n_steps)
    seed = check_int("seed", seed, minimum=0)
    random_prob = check_real("random_prob", random_prob, 0.0, 1.0)
    noise_std = check_real("noise_std", noise_std, 0.0)
    if not isinstance(dataset_id, str):
        raise TypeError(f"dataset_id must be a string such as 'pendulum/td3-acsf-v0', got {dataset_id!r}")
    from minari.dataset.minari_dataset import parse_dataset_id

    parse_dataset_id(dataset_id)  # Minari's own error for a malformed id, before any work
    if dataset_id in minari.list_local_datasets():
        raise ValueError(
            f"A local Minari dataset {dataset_id!r} already exists; choose another id or version, "
            f"or delete it with minari.delete_dataset({dataset_id!r})"
        )

    env = gym.make(env_id, **(env_kwargs or {}))
    if not isinstance(env.action_space, (spaces.Box, spaces.Discrete)):
        env.close()
        raise ValueError(f"collect_dataset supports Box and Discrete action spaces, got {env.action_space}")
    model_space = getattr(model, "observation_space", None)
    if model_space is not None and env.observation_space.shape != model_space.shape:
        env.close()
        raise ValueError(
            f"The model was trained on observations of shape {model_space.shape}, but {env_id} has "
            f"{env.observation_space.shape}"
        )
    # Episodes are gathered here and written with ``minari.create_dataset_from_buffers``, not with
    # ``minari.DataCollector``: the collector's per-step buffer needs JAX (``minari[create]``, a
    # ~100 MB dependency) for a tree-map over plain arrays; the file format is the same.
    from minari.data_collector import EpisodeBuffer

    rng = np.random.default_rng(seed)
    action_space = env.action_space
    episodes: list[EpisodeBuffer] = []
    try:
        obs, _ = env.reset(seed=seed)
        observations, actions, rewards, terminations, truncations = [obs], [], [], [], []
        for step in range(n_steps):
            action = behaviour_action(model, obs, action_space, rng, random_prob, float(noise_std))
            obs, reward, terminated, truncated, _ = env.step(action)
            last = step == n_steps - 1
            observations.append(obs)
            actions.append(action)
            rewards.append(float(reward))
            terminations.append(bool(terminated))
            truncations.append(bool(truncated) or (last and not terminated))  # the unfinished episode
            if terminated or truncated or last:
                episodes.append(
                    EpisodeBuffer(
                        id=len(episodes),
                        seed=seed if not episodes else None,
                        observations=np.asarray(observations, dtype=env.observation_space.dtype),
                        actions=np.asarray(actions, dtype=action_space.dtype),
                        rewards=np.asarray(rewards, dtype=np.float64),
                        terminations=np.asarray(terminations),
                        truncations=np.asarray(truncations),
                        infos={},
                    )
                )
                if not last:
                    obs, _ = env.reset()
                    observations, actions, rewards, terminations, truncations = [obs], [], [], [], []
        with warnings.catch_warnings():
            # Minari warns about every metadata field left empty (author e-mail, permalink...).
            warnings.filterwarnings("ignore", message=r"`(code_permalink|author_email|author)` is set to None")
            dataset = minari.create_dataset_from_buffers(
                dataset_id=dataset_id,
                buffer=episodes,
                env=env_id if not env_kwargs else env,
                eval_env=env_id if not env_kwargs else env,
                algorithm_name=f"{type(model).__name__} behaviour policy, ACSF recipe "
                f"(random_prob={random_prob}, noise_std={noise_std}, seed={seed})",
                author="sb3-spiking collect_dataset",
                description=description
                or f"{n_steps} transitions of a {type(model).__name__} policy on {env_id} with probability "
                f"{random_prob} of a uniformly random action, else the policy action + N(0, {noise_std})",
            )
    finally:
        env.close()
    return dataset


def load_dataset(dataset: Any) -> Any:
    """A ``minari.MinariDataset`` from a dataset, a local dataset id or a dataset directory.

    Never downloads: a missing dataset is a ``FileNotFoundError`` that lists where it was looked for.
    """
    minari = _import_minari()
    if isinstance(dataset, minari.MinariDataset):
        return dataset
    if isinstance(dataset, os.PathLike) or (isinstance(dataset, str) and os.sep in dataset and Path(dataset).exists()):
        path = Path(dataset)
        data = path / "data" if (path / "data").is_dir() else path
        if not (data / "metadata.json").exists():
            raise FileNotFoundError(f"{path} is not a Minari dataset directory (no data/metadata.json)")
        return minari.MinariDataset(data)
    if not isinstance(dataset, str):
        raise TypeError(f"dataset must be a Minari dataset id, a dataset directory or a MinariDataset, got {dataset!r}")
    if dataset not in minari.list_local_datasets():
        from minari.storage import get_dataset_path

        root = get_dataset_path()
        raise FileNotFoundError(
            f"No local Minari dataset {dataset!r} under {root} (set MINARI_DATASETS_PATH to use another root). "
            "Create one with sb3_spiking.offline.collect_dataset or `python -m sb3_spiking.offline collect`, "
            f"or download a public one with `minari download {dataset}`"
        )
    return minari.load_dataset(dataset)


def _flat_episode_arrays(dataset: Any) -> dict[str, np.ndarray]:
    """Observations, next observations, actions, rewards and terminations of every episode, concatenated."""
    obs, next_obs, actions, rewards, terminations = [], [], [], [], []
    for episode in dataset.iterate_episodes():
        if isinstance(episode.observations, dict):
            raise ValueError(
                "dataset_to_replay_buffer supports Box and Discrete observations; this dataset has Dict observations"
            )
        n = len(episode.rewards)
        if n == 0:
            continue
        observations = np.asarray(episode.observations)
        obs.append(observations[:n])
        next_obs.append(observations[1 : n + 1])
        actions.append(np.asarray(episode.actions)[:n])
        rewards.append(np.asarray(episode.rewards, dtype=np.float32)[:n])
        terminations.append(np.asarray(episode.terminations, dtype=np.float32)[:n])
    if not obs:
        raise ValueError(f"The Minari dataset {dataset.id!r} contains no transitions")
    return {
        "observations": np.concatenate(obs),
        "next_observations": np.concatenate(next_obs),
        "actions": np.concatenate(actions),
        "rewards": np.concatenate(rewards),
        "dones": np.concatenate(terminations),
    }


def check_spaces_match(
    dataset: Any, observation_space: spaces.Space, action_space: spaces.Space, where: str = "the environment"
) -> None:
    """Raise a clear error when a dataset's spaces differ from an environment's (shape, type, bounds)."""

    def describe(a: spaces.Space, b: spaces.Space) -> str | None:
        if type(a) is not type(b):
            return f"{a} vs {b}"
        if isinstance(a, spaces.Box):
            if a.shape != b.shape:
                return f"shape {a.shape} vs {b.shape}"
            if not (np.allclose(a.low, b.low) and np.allclose(a.high, b.high)):
                return f"bounds [{a.low}, {a.high}] vs [{b.low}, {b.high}]"
        elif isinstance(a, spaces.Discrete) and (a.n != b.n or a.start != b.start):
            return f"{a} vs {b}"
        return None

    for what, ds_space, env_space in (
        ("observation", dataset.observation_space, observation_space),
        ("action", dataset.action_space, action_space),
    ):
        problem = describe(ds_space, env_space)
        if problem is not None:
            raise ValueError(
                f"The {what} space of the dataset {dataset.id!r} does not match {where}'s: {problem} "
                f"(dataset {ds_space}, {where} {env_space})"
            )


def dataset_to_replay_buffer(
    dataset: Any,
    replay_buffer: ReplayBuffer | None = None,
    device: str = "auto",
) -> ReplayBuffer:
    """Copy every transition of a Minari dataset into an SB3 ``ReplayBuffer``.

    ``done`` is the episode's termination flag (a truncated episode bootstraps from its next
    observation, as SB3 does with ``handle_timeout_termination``).

    :param dataset: a ``MinariDataset``, a local dataset id or a dataset directory.
    :param replay_buffer: a buffer to fill (single env, large enough, matching spaces); by default
        a new buffer of exactly the dataset's size.
    :param device: device of the new buffer's samples.
    :return: the filled buffer (``size()`` equals the number of transitions).
    """
    dataset = load_dataset(dataset)
    arrays = _flat_episode_arrays(dataset)
    n = len(arrays["rewards"])
    if replay_buffer is None:
        replay_buffer = ReplayBuffer(
            n, dataset.observation_space, dataset.action_space, device=device, n_envs=1, handle_timeout_termination=False
        )
    else:
        check_spaces_match(dataset, replay_buffer.observation_space, replay_buffer.action_space, "the replay buffer")
        if replay_buffer.n_envs != 1:
            raise ValueError(f"dataset_to_replay_buffer fills single-env buffers, got n_envs={replay_buffer.n_envs}")
        if replay_buffer.optimize_memory_usage:
            raise ValueError("dataset_to_replay_buffer needs a buffer with optimize_memory_usage=False")
        if replay_buffer.buffer_size < n:
            raise ValueError(f"The replay buffer holds {replay_buffer.buffer_size} transitions, the dataset {n}")
    # Bulk copy into the buffer's arrays instead of n calls to ``ReplayBuffer.add``: the same
    # result (the layout is [pos, env, ...] with one env), 1e6 transitions in well under a second
    # instead of ~10 s of per-call overhead.
    buf = replay_buffer
    buf.observations[:n] = arrays["observations"].reshape(n, 1, *buf.obs_shape)
    buf.next_observations[:n] = arrays["next_observations"].reshape(n, 1, *buf.obs_shape)
    buf.actions[:n] = arrays["actions"].reshape(n, 1, buf.action_dim)
    buf.rewards[:n] = arrays["rewards"].reshape(n, 1)
    buf.dones[:n] = arrays["dones"].reshape(n, 1)
    buf.timeouts[:n] = 0.0
    buf.pos = n % buf.buffer_size
    buf.full = n == buf.buffer_size
    return buf
