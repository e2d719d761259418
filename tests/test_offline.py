"""Behaviour datasets (Minari) and loading them into SB3 replay buffers."""

import gymnasium as gym
import minari
import numpy as np
import pytest
from stable_baselines3 import DQN, TD3
from stable_baselines3.common.buffers import ReplayBuffer

from sb3_spiking.offline import collect_dataset, dataset_to_replay_buffer, load_dataset


@pytest.fixture(autouse=True)
def minari_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))
    return tmp_path / "datasets"


@pytest.fixture(scope="module")
def td3():
    return TD3("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", policy_kwargs=dict(net_arch=[16]))


def test_round_trip_identical_transitions(td3):
    """collect -> save -> load -> replay buffer gives exactly the transitions that were played."""
    n = 450  # two full Pendulum episodes (200 steps) and an unfinished one
    dataset = collect_dataset(td3, "Pendulum-v1", n, "pendulum/roundtrip-v0", seed=3)
    assert isinstance(dataset, minari.MinariDataset)
    assert dataset.total_steps == n and dataset.total_episodes == 3

    # replay the behaviour by hand with the same seeds: same observations, actions, rewards
    env = gym.make("Pendulum-v1")
    rng = np.random.default_rng(3)
    from sb3_spiking.offline import behaviour_action

    obs, _ = env.reset(seed=3)
    expected = []
    for _ in range(n):
        action = behaviour_action(td3, obs, env.action_space, rng, 0.3, 0.3)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        expected.append((obs, action, reward, next_obs, terminated))
        obs = env.reset()[0] if terminated or truncated else next_obs

    reloaded = load_dataset("pendulum/roundtrip-v0")  # from disk, by id
    buffer = dataset_to_replay_buffer(reloaded)
    assert isinstance(buffer, ReplayBuffer) and buffer.size() == n
    np.testing.assert_allclose(buffer.observations[:n, 0], np.stack([e[0] for e in expected]), rtol=0, atol=0)
    np.testing.assert_allclose(buffer.actions[:n, 0], np.stack([e[1] for e in expected]), rtol=0, atol=0)
    np.testing.assert_allclose(buffer.rewards[:n, 0], np.array([e[2] for e in expected], np.float32), rtol=1e-6)
    np.testing.assert_allclose(buffer.next_observations[:n, 0], np.stack([e[3] for e in expected]), rtol=0, atol=0)
    assert not buffer.dones.any()  # Pendulum only truncates

    # the recipe's two ingredients: no noise -> the policy's actions; always random -> uniform
    exact = dataset_to_replay_buffer(
        collect_dataset(td3, "Pendulum-v1", 200, "pendulum/exact-v0", seed=0, random_prob=0.0, noise_std=0.0)
    )
    policy_actions = td3.predict(exact.observations[:200, 0], deterministic=True)[0]
    np.testing.assert_allclose(exact.actions[:200, 0], policy_actions, atol=1e-6)
    uniform = dataset_to_replay_buffer(
        collect_dataset(td3, "Pendulum-v1", 400, "pendulum/uniform-v0", seed=0, random_prob=1.0)
    )
    assert (
        abs(float(uniform.actions[:400].mean())) < 0.3 and 1.0 < float(uniform.actions[:400].std()) < 1.3
    )  # U(-2, 2): std 1.15

    # same seed -> same dataset; another seed -> different
    again = dataset_to_replay_buffer(collect_dataset(td3, "Pendulum-v1", n, "pendulum/roundtrip-v1", seed=3))
    other = dataset_to_replay_buffer(collect_dataset(td3, "Pendulum-v1", n, "pendulum/roundtrip-v2", seed=4))
    assert np.array_equal(again.actions, buffer.actions)
    assert not np.array_equal(other.actions, buffer.actions)


def test_discrete_dataset_and_terminations():
    model = DQN("MlpPolicy", "CartPole-v1", seed=0, device="cpu", policy_kwargs=dict(net_arch=[8]))
    dataset = collect_dataset(model, "CartPole-v1", 300, "cartpole/dqn-v0", seed=0, random_prob=1.0)
    buffer = dataset_to_replay_buffer(dataset)
    assert buffer.size() == 300
    assert buffer.actions.dtype == np.int64 and set(np.unique(buffer.actions[:300])) == {0, 1}
    assert buffer.dones[:300].sum() == dataset.total_episodes - 1  # random play: every finished episode terminated
    # a fresh, larger buffer can be filled too
    big = ReplayBuffer(1000, dataset.observation_space, dataset.action_space, handle_timeout_termination=False)
    assert dataset_to_replay_buffer(dataset, big) is big and big.size() == 300


def test_bad_input(td3, minari_root):
    with pytest.raises(ValueError, match="n_steps"):
        collect_dataset(td3, "Pendulum-v1", 0, "pendulum/bad-v0")
    with pytest.raises(ValueError, match="random_prob"):
        collect_dataset(td3, "Pendulum-v1", 10, "pendulum/bad-v0", random_prob=1.5)
    with pytest.raises(ValueError, match="noise_std"):
        collect_dataset(td3, "Pendulum-v1", 10, "pendulum/bad-v0", noise_std=-1)
    with pytest.raises(ValueError, match="Malformed dataset ID"):
        collect_dataset(td3, "Pendulum-v1", 10, "no version")
    with pytest.raises(TypeError, match=r"trained SB3 model .* predict"):
        collect_dataset("td3.zip", "Pendulum-v1", 10, "pendulum/bad-v0")
    with pytest.raises(ValueError, match="shape"):
        collect_dataset(td3, "MountainCarContinuous-v0", 10, "mcc/bad-v0")
    once = collect_dataset(td3, "Pendulum-v1", 10, "pendulum/once-v0")
    with pytest.raises(ValueError, match="already exists"):
        once = collect_dataset(td3, "Pendulum-v1", 10, "pendulum/once-v0")
    with pytest.raises(FileNotFoundError, match="No local Minari dataset 'pendulum/missing-v0'"):
        load_dataset("pendulum/missing-v0")
    with pytest.raises(FileNotFoundError, match="not a Minari dataset"):
        load_dataset(minari_root)
    small = ReplayBuffer(5, once.observation_space, once.action_space, handle_timeout_termination=False)
    with pytest.raises(ValueError, match="holds 5 transitions"):
        dataset_to_replay_buffer("pendulum/once-v0", small)
    wrong = ReplayBuffer(50, gym.spaces.Box(-1, 1, (4,)), once.action_space, handle_timeout_termination=False)
    with pytest.raises(ValueError, match="observation space of the dataset"):
        dataset_to_replay_buffer("pendulum/once-v0", wrong)


def test_empty_dataset_is_refused():
    env = gym.make("Pendulum-v1")
    minari.create_dataset_from_buffers(
        "pendulum/empty-v0", [], env=env, algorithm_name="none", author="t", description="empty"
    )
    with pytest.raises(ValueError, match="contains no transitions"):
        dataset_to_replay_buffer("pendulum/empty-v0")
