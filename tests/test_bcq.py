"""SpikingBCQ / BCQ: offline training from Minari datasets, spiking modes, save/load, errors."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import TD3
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure

from sb3_spiking import BCQ, SpikeStatsCallback, SpikingBCQ, energy_report
from sb3_spiking.bcq import PerturbationActor
from sb3_spiking.offline import collect_dataset
from sb3_spiking.snn import SpikingMLP
from sb3_spiking.td3.policies import SpikingContinuousCritic

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

SMALL = dict(net_arch=[32, 32], vae_arch=[32, 32])
#: the five modes of the ACSF comparison
MODES = {
    "acsf": dict(encoder="learnable", decoder="learnable", num_steps=4),
    "rate": dict(encoder="rate", decoder="rate", num_steps=4),
    "max": dict(decoder="membrane", membrane_readout="max", num_steps=4),
    "ann_coders": dict(encoder="learnable", decoder="learnable", num_steps=4, neuron="relu"),
    "bcq": dict(spiking=False),
}


@pytest.fixture(scope="module")
def datasets_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("minari")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINARI_DATASETS_PATH", str(root))
        behaviour = TD3("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", policy_kwargs=dict(net_arch=[16]))
        collect_dataset(behaviour, "Pendulum-v1", 500, "pendulum/tiny-v0", seed=0)
        yield root


@pytest.fixture(autouse=True)
def minari_env(datasets_root, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(datasets_root))


class NoStepWrapper(gym.Wrapper):
    """Fails the test if training steps the environment."""

    def step(self, action):
        raise AssertionError("env.step was called during offline training")


@pytest.mark.parametrize("mode", list(MODES))
def test_every_mode_trains_offline_without_stepping(mode):
    env = NoStepWrapper(gym.make("Pendulum-v1"))
    model = SpikingBCQ(
        "MlpPolicy", env, dataset="pendulum/tiny-v0", policy_kwargs=dict(SMALL, **MODES[mode]), batch_size=32, seed=0
    )
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(200)
    assert model.num_timesteps == 200 and model._n_updates == 200
    changed = [not th.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=False)]
    assert all(changed[: len(list(model.policy.actor.parameters()))])  # the actor's parameters all moved
    spiking = mode != "bcq"
    assert isinstance(model.policy.actor.net, SpikingMLP) == spiking
    assert isinstance(model.policy.critic, SpikingContinuousCritic) == spiking
    obs = model.replay_buffer.observations[:8, 0]
    actions, _ = model.predict(obs)
    assert actions.shape == (8, 1) and np.all(np.abs(actions) <= 2.0)
    report = energy_report(model, obs)
    assert report["ann_macs"] > 0
    if mode in ("acsf", "rate", "max"):
        assert report["spikes"] > 0 and report["synaptic_ops"] > 0


def test_bcq_class_is_the_ann_twin():
    model = BCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", policy_kwargs=SMALL, seed=0)
    assert not model.policy.spiking and model.policy_kwargs["spiking"] is False
    assert isinstance(model.policy.actor, PerturbationActor)


def test_defaults_follow_bcq_and_acsf():
    model = SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0")
    assert (model.learning_rate, model.batch_size, model.gamma, model.tau) == (1e-3, 100, 0.99, 0.005)
    assert (model.lmbda, model.n_action_samples, model.policy.phi) == (0.75, 10, 0.05)
    assert model.policy.spiking_critic and model.policy.latent_dim == 2  # 2 x action dim
    assert model.replay_buffer.size() == 500
    # actions in the buffer are in SB3's scaled space [-1, 1] (Pendulum's are in [-2, 2])
    assert np.abs(model.replay_buffer.actions[:500]).max() <= 1.0


@pytest.mark.parametrize("algo", [SpikingBCQ, BCQ])
def test_load_accepts_the_policy_kwargs_the_model_was_built_with(algo, tmp_path):
    """The stored dict holds the resolved options (and ``phi`` given as an argument; BCQ's
    ``spiking=False``): the user's own dict is accepted, a different one gets SB3's error."""
    model = algo("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", policy_kwargs=dict(SMALL), phi=0.1, seed=0)
    model.save(tmp_path / "bcq")
    loaded = algo.load(tmp_path / "bcq", policy_kwargs=dict(SMALL))
    assert loaded.policy_kwargs == model.policy_kwargs and loaded.policy.phi == 0.1
    with pytest.raises(ValueError, match="do not equal the stored"):
        algo.load(tmp_path / "bcq", policy_kwargs=dict(SMALL, num_steps=3))


def test_perturbation_is_bounded_by_phi():
    model = SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", policy_kwargs=dict(SMALL, phi=0.1), seed=1)
    obs = th.as_tensor(model.replay_buffer.observations[:64, 0])
    candidates = th.rand(64, 1) * 1.6 - 0.8
    with th.no_grad():
        shifted = model.policy.actor(obs, candidates)
    assert th.all((shifted - candidates).abs() <= 0.1 + 1e-6)


def test_save_load_identical_actions_and_continue(tmp_path):
    model = SpikingBCQ(
        "MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", policy_kwargs=dict(SMALL, **MODES["acsf"]), seed=0
    )
    model.learn(50)
    obs = model.replay_buffer.observations[:16, 0]
    th.manual_seed(7)
    expected, _ = model.predict(obs, deterministic=True)
    model.save(tmp_path / "bcq")
    loaded = SpikingBCQ.load(tmp_path / "bcq")
    assert loaded.dataset_id == "pendulum/tiny-v0" and loaded.policy_kwargs["encoder"] == "learnable"
    th.manual_seed(7)
    actions, _ = loaded.predict(obs, deterministic=True)
    np.testing.assert_array_equal(actions, expected)
    for part in ("actor", "critic", "vae"):
        saved = getattr(model.policy, part).optimizer.state_dict()["state"]
        restored = getattr(loaded.policy, part).optimizer.state_dict()["state"]
        assert saved.keys() == restored.keys()
        assert all(th.equal(saved[k]["exp_avg"], restored[k]["exp_avg"]) for k in saved)
    # loaded without an env: learning reloads the dataset by id and recovers its env
    loaded.learn(20, reset_num_timesteps=False)
    assert loaded.num_timesteps == 70


def test_evaluate_policy_and_callbacks(tmp_path):
    model = SpikingBCQ(
        "MlpPolicy", make_vec_env("Pendulum-v1", n_envs=2), dataset="pendulum/tiny-v0", policy_kwargs=SMALL, seed=0
    )
    model.set_logger(configure(str(tmp_path), ["csv"]))
    callback = SpikeStatsCallback(log_freq=20, n_samples=16)
    model.learn(40, callback=callback, log_interval=20)
    assert callback.last_report is not None and callback.last_report["spikes"] > 0
    mean, _ = evaluate_policy(model, model.get_env(), n_eval_episodes=2)
    assert np.isfinite(mean)
    assert "train/critic_loss" in (tmp_path / "progress.csv").read_text()


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="pass dataset="):
        SpikingBCQ("MlpPolicy", "Pendulum-v1")
    with pytest.raises(FileNotFoundError, match="No local Minari dataset 'pendulum/nope-v0'"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/nope-v0")
    with pytest.raises(FileNotFoundError, match="not a Minari dataset"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset=tmp_path)
    with pytest.raises(ValueError, match="observation space of the dataset 'pendulum/tiny-v0' does not match"):
        SpikingBCQ("MlpPolicy", "MountainCarContinuous-v0", dataset="pendulum/tiny-v0")
    with pytest.raises(ValueError, match="SpikingBCQ supports only Box action spaces"):
        SpikingBCQ("MlpPolicy", "CartPole-v1", dataset="pendulum/tiny-v0")
    with pytest.raises(ValueError, match="phi must be"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", phi=-1)
    with pytest.raises(ValueError, match="lmbda"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", lmbda=2)
    with pytest.raises(ValueError, match="num_steps"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", policy_kwargs=dict(num_steps=0))
    with pytest.raises(ValueError, match="Unknown neuron='izhikevich'"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", policy_kwargs=dict(neuron="izhikevich"))
    with pytest.raises(ValueError, match="vae_arch needs at least one hidden layer"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", policy_kwargs=dict(vae_arch=[]))
    with pytest.raises(ValueError, match="n_action_samples_predict must be an int >= 1"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", policy_kwargs=dict(n_action_samples_predict=0))
    with pytest.raises(ValueError, match="net_arch dict keys must be 'pi' and 'qf'"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", policy_kwargs=dict(net_arch=dict(vf=[8])))
    with pytest.raises(ValueError, match="tau must be a number in"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", tau=1.5)
    # One rule for numbers (sb3_spiking/snn/validation.py): NumPy scalars are numbers here too.
    model = SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", gamma=np.float32(0.99), tau=np.float64(0.01))
    assert (model.gamma, model.tau) == (pytest.approx(0.99), 0.01)
    with pytest.raises(TypeError, match="unknown policy_kwargs"):
        SpikingBCQ("MlpPolicy", "Pendulum-v1", dataset="pendulum/tiny-v0", policy_kwargs=dict(num_step=4))


class SwingUpController:
    """A scripted Pendulum-v1 expert with SB3's ``predict`` (about -140 mean return over 20 seeds):
    pump energy (``E = w^2 / 2 + 15 cos(theta)``, 15 at rest upright) with full torque in the
    direction of motion, then a PD controller near the top."""

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        cos, sin, w = (float(v) for v in np.asarray(obs).reshape(-1))
        if cos > 0.8:
            u = -(10.0 * np.arctan2(sin, cos) + 2.0 * w)
        else:
            energy = 0.5 * w**2 + 15.0 * cos
            u = (2.0 if w >= 0 else -2.0) * (1.0 if energy < 15.0 else -1.0)
        return np.clip(np.array([u], np.float32), -2.0, 2.0), state


class RandomPolicy:
    def __init__(self, space):
        self.space = space
        self.space.seed(0)

    def predict(self, obs, state=None, episode_start=None, deterministic=True):
        return np.stack([self.space.sample() for _ in range(len(obs))]), state


def test_bcq_learns_from_a_good_behaviour_policy():
    """Offline BCQ on 20k transitions of a good controller (10% random actions, small noise) beats
    the random policy (about -1200 on Pendulum-v1) by a wide margin."""
    collect_dataset(SwingUpController(), "Pendulum-v1", 20_000, "pendulum/swingup-v0", seed=0, random_prob=0.1, noise_std=0.1)
    env = make_vec_env("Pendulum-v1", seed=123)
    random_return, _ = evaluate_policy(RandomPolicy(env.action_space), env, n_eval_episodes=5)
    model = BCQ(
        "MlpPolicy",
        "Pendulum-v1",
        dataset="pendulum/swingup-v0",
        policy_kwargs=dict(net_arch=[64, 64], vae_arch=[64, 64], n_action_samples_predict=10),
        seed=0,
    )
    model.learn(2000)
    mean, _ = evaluate_policy(model, env, n_eval_episodes=5)
    assert random_return < -900
    assert mean > random_return + 500, (mean, random_return)
