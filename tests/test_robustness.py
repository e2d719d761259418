"""FGSM robustness evaluation (fgsm_evaluate, fgsm_perturb) and the robustness command."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import DQN, PPO, SAC
from stable_baselines3.common.envs import FakeImageEnv, SimpleMultiObsEnv
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_spiking import DSQN, SpikingActorCriticPolicy
from sb3_spiking.robustness import (
    FGSMPredictor,
    action_scores,
    fgsm_evaluate,
    fgsm_perturb,
)
from sb3_spiking.robustness import main as robustness_main

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def trained_dqn():
    """DQN on CartPole, RL Zoo's settings (net [64, 64]) for 5k steps: about 170 return, ~5 s."""
    model = DQN(
        "MlpPolicy",
        "CartPole-v1",
        learning_rate=2.3e-3,
        batch_size=64,
        learning_starts=1000,
        target_update_interval=10,
        train_freq=256,
        gradient_steps=128,
        exploration_fraction=1.6,  # of 5k steps: the zoo's 8k-step schedule, cut at 5k
        exploration_final_eps=0.04,
        policy_kwargs={"net_arch": [64, 64]},
        seed=0,
        device="cpu",
    )
    model.learn(5000)
    return model


def _obs_batch(n=32, seed=0):
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=seed)
    batch = []
    rng = np.random.default_rng(seed)
    for _ in range(n):
        batch.append(obs)
        obs, _, term, trunc, _ = env.step(int(rng.integers(2)))
        if term or trunc:
            obs, _ = env.reset()
    return np.stack(batch)


def test_epsilon_zero_equals_clean_evaluation(trained_dqn):
    venv = DummyVecEnv([lambda: Monitor(gym.make("CartPole-v1"))])
    venv.seed(7)
    clean, _ = evaluate_policy(trained_dqn, venv, n_eval_episodes=4, return_episode_rewards=True)
    attacked = fgsm_evaluate(trained_dqn, gym.make("CartPole-v1"), [0.0], 4, seed=7, return_episode_rewards=True)
    assert attacked[0.0] == [float(r) for r in clean]
    assert len(set(clean)) > 1  # different episodes: the seeds reach the env


def test_large_epsilon_lowers_the_return_of_a_trained_dqn(trained_dqn):
    returns = fgsm_evaluate(trained_dqn, "CartPole-v1", [0.0, 0.5], n_episodes=3, seed=0)
    assert returns[0.0] > 100, "the fixture DQN should balance for a while"
    assert returns[0.5] < 0.5 * returns[0.0]


def test_perturbation_is_one_signed_gradient_step_against_the_greedy_action(trained_dqn):
    obs = _obs_batch()
    eps = 0.01
    adv = fgsm_perturb(trained_dqn, obs, eps)
    assert adv.shape == obs.shape and adv.dtype == np.float32
    np.testing.assert_allclose(np.abs(adv - obs), eps, rtol=1e-4)  # every coordinate moves by eps
    # same sign as Huang et al.'s cross-entropy FGSM wherever that gradient is not zero
    x = th.as_tensor(obs).requires_grad_(True)
    q = trained_dqn.q_net(x)
    th.nn.functional.cross_entropy(q, q.argmax(1), reduction="sum").backward()
    ce_sign = x.grad.sign().numpy()
    nonzero = ce_sign != 0
    assert nonzero.mean() > 0.9
    np.testing.assert_array_equal(np.sign(adv - obs)[nonzero], ce_sign[nonzero])
    # the greedy action's lead shrinks
    with th.no_grad():
        q_clean, q_adv = trained_dqn.q_net(th.as_tensor(obs)), trained_dqn.q_net(th.as_tensor(adv))
    greedy = q_clean.argmax(1, keepdim=True)

    def lead(q: th.Tensor) -> th.Tensor:
        return (q.gather(1, greedy) - q.scatter(1, greedy, -1e9).amax(1, keepdim=True)).squeeze(1)

    assert th.all(lead(q_adv) < lead(q_clean))


def test_perturbation_of_one_observation_and_bounds():
    model = DQN("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [8]}, seed=0, device="cpu")
    obs = np.array([4.8, 0.0, 0.0, 0.0], dtype=np.float32)  # x on the observation space's bound
    adv = fgsm_perturb(model, obs, 1.0)
    assert adv.shape == (4,)
    high = model.observation_space.high
    assert adv[0] in (np.float32(4.8) - np.float32(1.0), np.float32(4.8)) and abs(adv[2]) == high[2]  # within bounds
    assert abs(adv[1]) == abs(adv[3]) == 1.0  # unbounded velocities: the full step
    outside = np.array([5.0, 0.0, 0.0, 0.0], dtype=np.float32)  # beyond the bound: kept, never pushed further
    assert 4.0 <= fgsm_perturb(model, outside, 1.0)[0] <= 5.0


@pytest.mark.parametrize("kind", ["dsqn", "spiking_ppo", "ppo"])
def test_spiking_and_actor_critic_models_are_attacked(kind):
    if kind == "dsqn":
        model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [32, 32]}, seed=0, device="cpu")
    elif kind == "spiking_ppo":
        model = PPO(SpikingActorCriticPolicy, "CartPole-v1", seed=0, device="cpu")
    else:
        model = PPO("MlpPolicy", "CartPole-v1", seed=0, device="cpu")
    obs = _obs_batch(8)
    adv = fgsm_perturb(model, obs, 0.05)
    moved = np.abs(adv - obs)
    assert moved.max() == pytest.approx(0.05) and (moved > 0).mean() > 0.5  # non-zero (surrogate) gradients
    scores = action_scores(model.policy, th.as_tensor(obs))
    assert scores.shape == (8, 2)
    result = fgsm_evaluate(model, "CartPole-v1", [0.0, 0.05], n_episodes=1)
    assert set(result) == {0.0, 0.05} and all(r > 0 for r in result.values())


def test_image_epsilon_is_in_pixels_over_255():
    env = FakeImageEnv(screen_height=36, screen_width=36, n_channels=1, discrete=True, channel_first=True)
    model = DQN("CnnPolicy", env, buffer_size=10, seed=0, device="cpu")
    obs = np.stack([env.observation_space.sample() for _ in range(2)])
    adv = fgsm_perturb(model, obs, 2 / 255)
    moved = np.abs(adv - obs.astype(np.float32))
    assert moved.max() == pytest.approx(2.0) and adv.min() >= 0 and adv.max() <= 255
    assert model.predict(adv, deterministic=True)[0].shape == (2,)


def test_bad_input():
    pendulum = PPO("MlpPolicy", "Pendulum-v1", device="cpu")
    with pytest.raises(ValueError, match="Discrete action space"):
        fgsm_evaluate(pendulum, "Pendulum-v1")
    with pytest.raises(TypeError, match="DQN/DSQN"):
        fgsm_evaluate(SAC("MlpPolicy", "Pendulum-v1", buffer_size=10, device="cpu"), "Pendulum-v1")
    with pytest.raises(TypeError, match="SB3 model or policy"):
        fgsm_perturb(object(), np.zeros(4), 0.1)
    dqn = DQN("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [8]}, device="cpu")
    for bad in (-0.1, float("nan"), "0.1"):
        with pytest.raises(ValueError, match="epsilon"):
            fgsm_evaluate(dqn, "CartPole-v1", [bad])
    with pytest.raises(ValueError, match="n_episodes"):
        fgsm_evaluate(dqn, "CartPole-v1", [0.0], n_episodes=0)
    with pytest.raises(ValueError, match="epsilons"):
        fgsm_evaluate(dqn, "CartPole-v1", [])
    multi = DQN("MultiInputPolicy", SimpleMultiObsEnv(), buffer_size=10, device="cpu")
    with pytest.raises(ValueError, match="Box observation space"):
        FGSMPredictor(multi, 0.1)
    assert isinstance(multi.observation_space, spaces.Dict)


def test_robustness_command_prints_a_table_and_writes_a_png(trained_dqn, tmp_path, capsys):
    trained_dqn.save(tmp_path / "dqn")
    DSQN("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [16]}, seed=0, device="cpu").save(tmp_path / "dsqn")
    plot = tmp_path / "curves.png"
    robustness_main(
        [
            "--model", str(tmp_path / "dqn.zip"), str(tmp_path / "dsqn.zip"),
            "--algo", "dqn", "dsqn", "--label", "DQN", "DSQN",
            "--env", "CartPole-v1", "--epsilons", "0", "0.5", "--n-episodes", "1", "--plot", str(plot),
        ]
    )  # fmt: skip
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "| epsilon | DQN | DSQN |"
    assert out[2].startswith("| 0 | ") and out[3].startswith("| 0.5 | ")
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
