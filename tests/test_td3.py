"""SpikingTD3 / SpikingDDPG: SB3-style checks (spaces, save/load, determinism, options, errors)."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import TD3
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import SimpleMultiObsEnv
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure
from stable_baselines3.td3.policies import Actor

from sb3_spiking import SpikeStatsCallback, SpikingDDPG, SpikingTD3, energy_report
from sb3_spiking.snn import DECODERS, ENCODERS, SpikingMLP
from sb3_spiking.td3.policies import SpikingActor, SpikingContinuousCritic

SMALL = dict(net_arch=[32, 32])
FAST = dict(learning_starts=50, batch_size=32, buffer_size=1000, seed=0, device="cpu")


def _obs(env, n=8, seed=0):
    space = env.observation_space
    space.seed(seed)
    return np.stack([space.sample() for _ in range(n)])


@pytest.mark.parametrize("encoder,decoder", list(itertools.product(ENCODERS, DECODERS)))
def test_every_coding_predicts_valid_actions(encoder, decoder):
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(SMALL, encoder=encoder, decoder=decoder), **FAST)
    model.learn(80)
    obs = _obs(model.env)
    actions, _ = model.predict(obs)
    assert actions.shape == (8, 1) and actions.dtype == np.float32
    assert np.all(actions >= -2.0) and np.all(actions <= 2.0)
    single, _ = model.predict(obs[0])
    assert single.shape == (1,)


@pytest.mark.parametrize("algo", [SpikingTD3, SpikingDDPG])
def test_save_load_identical_actions_and_options(tmp_path, algo):
    kwargs = dict(
        SMALL,
        num_steps=3,
        encoder="rate",
        decoder="membrane",
        membrane_readout="mean",
        beta=0.7,
        threshold=0.8,
        surrogate="fast_sigmoid",
        learn_beta=True,
        learn_threshold=True,
        spiking_critic=True,
    )
    model = algo("MlpPolicy", "Pendulum-v1", policy_kwargs=kwargs, **FAST)
    model.learn(100)
    obs = _obs(model.env)
    before, _ = model.predict(obs)
    model.save(tmp_path / "model.zip")
    loaded = algo.load(tmp_path / "model.zip", device="cpu")
    after, _ = loaded.predict(obs)
    assert np.array_equal(before, after)
    opts = loaded.policy.spiking_options
    assert (opts.num_steps, opts.encoder, opts.decoder, opts.membrane_readout) == (3, "rate", "membrane", "mean")
    assert (opts.beta, opts.threshold, opts.surrogate, opts.learn_beta) == (0.7, 0.8, "fast_sigmoid", True)
    assert loaded.policy.spiking_critic and isinstance(loaded.critic, SpikingContinuousCritic)
    for key, value in model.policy.state_dict().items():
        assert th.equal(value, loaded.policy.state_dict()[key]), key
    # the resolved options (defaults included) travel with the model
    assert loaded.policy_kwargs["reset_mechanism"] == "subtract"


def test_learn_continues_after_load(tmp_path):
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    model.learn(100)
    model.save(tmp_path / "m.zip")
    model.save_replay_buffer(tmp_path / "buffer.pkl")
    loaded = SpikingTD3.load(tmp_path / "m.zip", env=gym.make("Pendulum-v1"), device="cpu")
    loaded.load_replay_buffer(tmp_path / "buffer.pkl")
    assert loaded.replay_buffer.size() == model.replay_buffer.size()
    loaded.learn(60, reset_num_timesteps=False)
    assert loaded.num_timesteps == 160


def test_predictions_are_pure_functions_of_the_observation():
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(SMALL, encoder="rate"), **FAST)
    model.learn(80)
    obs = _obs(model.env, 6)
    first, _ = model.predict(obs)
    assert np.array_equal(model.predict(obs)[0], first)
    one_by_one = np.concatenate([model.predict(o[None])[0] for o in obs])
    np.testing.assert_allclose(one_by_one, first, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("encoder,decoder", [("population", "population"), ("direct", "membrane")])
def test_gradients_reach_every_learnable_parameter(encoder, decoder):
    kwargs = dict(SMALL, encoder=encoder, decoder=decoder, learn_beta=True, learn_threshold=True, spiking_critic=True)
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=kwargs, **FAST)
    obs = th.as_tensor(_obs(model.env, 64))
    model.policy.set_training_mode(True)
    actor_loss = -model.critic.q1_forward(obs, model.actor(obs)).mean()
    actor_loss.backward()
    names = [n for n, p in model.actor.named_parameters()]
    assert any("lifs.0.beta" in n for n in names) and any("threshold" in n for n in names)
    assert any("encoder.mu" in n for n in names) == (encoder == "population")
    for name, p in model.actor.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    q1, q2 = model.critic(obs, th.rand(64, 1) * 2 - 1)
    (q1 + q2).sum().backward()
    for name, p in model.critic.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_training_updates_neuron_parameters_and_target_copies_them():
    kwargs = dict(SMALL, learn_beta=True, learn_threshold=True)
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=kwargs, tau=1.0, **FAST)
    beta0 = model.actor.mu[0].lifs[0].beta.detach().clone()
    model.learn(120)
    beta1 = model.actor.mu[0].lifs[0].beta.detach()
    assert not th.equal(beta0, beta1)
    th.testing.assert_close(model.actor_target.mu[0].lifs[0].beta, beta1)  # tau=1: a copy


def test_spiking_false_is_plain_td3():
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(SMALL, spiking=False), **FAST)
    assert type(model.actor) is Actor and not any(isinstance(m, SpikingMLP) for m in model.policy.modules())
    ref = TD3("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    obs = _obs(model.env)
    assert np.array_equal(model.predict(obs)[0], ref.predict(obs)[0])  # same seed, same network


def test_ann_critic_by_default_and_spiking_actor():
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    assert isinstance(model.actor, SpikingActor) and isinstance(model.actor_target, SpikingActor)
    assert not any(isinstance(m, SpikingMLP) for m in model.critic.modules())


def test_ddpg_and_vectorised_envs():
    env = make_vec_env("Pendulum-v1", n_envs=2, seed=0)
    model = SpikingDDPG("MlpPolicy", env, policy_kwargs=SMALL, **FAST)
    model.learn(100)
    mean, _ = evaluate_policy(model, env, n_eval_episodes=2)
    assert np.isfinite(mean)


def test_multi_input_policy():
    env = SimpleMultiObsEnv(random_start=False, discrete_actions=False)
    model = SpikingTD3("MultiInputPolicy", env, policy_kwargs=SMALL, **FAST)
    model.learn(80)
    obs = env.reset()[0]
    action, _ = model.predict(obs)
    assert action.shape == env.action_space.shape


def test_discrete_action_space_is_refused():
    with pytest.raises(ValueError, match=r"SpikingTD3 supports only Box action spaces.*Discrete"):
        SpikingTD3("MlpPolicy", "CartPole-v1")
    with pytest.raises(ValueError, match="SpikingDDPG supports only Box"):
        SpikingDDPG("MlpPolicy", "CartPole-v1")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(num_steps=0), "num_steps must be an int >= 1"),
        (dict(encoder="unknown"), "Unknown encoder"),
        (dict(num_step=5), r"unknown policy_kwargs \['num_step'\]"),
        (dict(spiking_critic="yes"), "spiking_critic must be True or False"),
        (dict(net_arch=[]), "at least one hidden layer"),
    ],
)
def test_bad_policy_kwargs(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=kwargs)


class _NaNAfter(gym.Wrapper):
    def __init__(self, env, n):
        super().__init__(env)
        self.n, self.t = n, 0

    def step(self, action):
        obs, *rest = self.env.step(action)
        self.t += 1
        return (obs * np.nan if self.t >= self.n else obs), *rest


def test_nan_observation_raises_clear_error():
    model = SpikingTD3("MlpPolicy", _NaNAfter(gym.make("Pendulum-v1"), 5), policy_kwargs=SMALL, learning_starts=0)
    with pytest.raises(ValueError, match="NaN or inf"):
        model.learn(20)
    with pytest.raises(ValueError, match="NaN or inf"):
        model.predict(np.array([np.nan, 0.0, 0.0], dtype=np.float32))


def test_energy_report_and_ann_comparison():
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    obs = _obs(model.env, 16)
    report = energy_report(model, obs)
    for key in ("firing_rate", "synaptic_ops", "macs", "energy_j", "ann_energy_j", "energy_ratio", "layers"):
        assert key in report
    assert 0 < report["firing_rate"] < 1 and report["synaptic_ops"] > 0
    assert report["ann_macs"] == 3 * 32 + 32 * 32 + 32 * 1
    ann = TD3("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    ann_report = energy_report(ann, obs)
    assert ann_report["energy_j"] == pytest.approx(report["ann_energy_j"])
    assert ann_report["firing_rate"] == 0.0 and ann_report["energy_ratio"] == pytest.approx(1.0)


def test_spike_stats_callback_logs_to_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    env = gym.make("Pendulum-v1", max_episode_steps=50)
    model = SpikingTD3("MlpPolicy", env, policy_kwargs=SMALL, **FAST)
    model.set_logger(configure(str(tmp_path), ["tensorboard"]))
    callback = SpikeStatsCallback(log_freq=40, n_samples=16)
    model.learn(150, callback=callback, log_interval=1)  # three 50-step episodes -> three dumps
    assert callback.last_report is not None and callback.last_report["n_samples"] == 16
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"spiking/firing_rate", "spiking/synaptic_ops", "spiking/energy_ratio"} <= tags
    ratio = events.Scalars("spiking/energy_ratio")[-1].value
    assert 0 < ratio < 10
    with pytest.raises(ValueError, match="log_freq"):
        SpikeStatsCallback(log_freq=0)


def test_cnn_policy_on_image_observations():
    class ImageEnv(gym.Env):
        observation_space = spaces.Box(0, 255, (36, 36, 3), dtype=np.uint8)
        action_space = spaces.Box(-1, 1, (2,), dtype=np.float32)

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            return self.observation_space.sample(), {}

        def step(self, action):
            return self.observation_space.sample(), 0.0, False, False, {}

    model = SpikingTD3(
        "CnnPolicy",
        ImageEnv(),
        policy_kwargs=dict(SMALL, features_extractor_kwargs=dict(features_dim=16)),
        learning_starts=10,
        batch_size=8,
        buffer_size=100,
    )
    model.learn(20)
    assert model.predict(ImageEnv().observation_space.sample())[0].shape == (2,)
