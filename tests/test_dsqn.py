"""DSQN: spaces, readouts, save/load, target sync, errors, accounting, Atari wrappers."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import DQN
from stable_baselines3.common.envs import FakeImageEnv, SimpleMultiObsEnv
from stable_baselines3.common.logger import configure

from sb3_spiking import DSQN, SpikeStatsCallback, energy_report
from sb3_spiking.common.torch_layers import ImageInput
from sb3_spiking.dsqn.policies import SpikingQNetwork
from sb3_spiking.snn import LIF, SpikingMLP, SpikingNatureCNN, SpikingOptions

SMALL = dict(net_arch=[32, 32])
FAST = dict(learning_starts=50, batch_size=16, buffer_size=1000, train_freq=4, seed=0, device="cpu")


def _image_env(channel_first=False):
    return FakeImageEnv(screen_height=40, screen_width=40, n_channels=2, discrete=True, channel_first=channel_first)


def _q_values(model, obs):
    obs_t, _ = model.policy.obs_to_tensor(obs)
    with th.no_grad():
        return model.q_net(obs_t).numpy()


READOUTS = [
    dict(decoder="membrane", membrane_readout="max"),
    dict(decoder="membrane", membrane_readout="mean"),
    dict(decoder="membrane", membrane_readout="last"),
    dict(decoder="rate"),
    dict(decoder="learnable"),
    dict(decoder="population"),
]


@pytest.mark.parametrize("readout", READOUTS, ids=lambda r: "-".join(r.values()))
def test_every_readout_builds_and_trains(readout):
    model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(SMALL, num_steps=4, **readout), **FAST)
    before = [p.detach().clone() for p in model.q_net.parameters()]
    model.learn(120)
    assert any(not th.equal(a, b) for a, b in zip(before, model.q_net.parameters(), strict=False)), "no parameter was updated"
    obs = np.stack([model.observation_space.sample() for _ in range(5)])
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (5,) and np.all((actions >= 0) & (actions < 2))
    assert _q_values(model, obs).shape == (5, 2)


def test_q_network_is_spiking_and_default_readout_is_membrane_max():
    model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    assert isinstance(model.q_net, SpikingQNetwork) and isinstance(model.q_net.q_net, SpikingMLP)
    assert isinstance(model.q_net_target.q_net, SpikingMLP)
    assert model.policy.spiking_options.decoder == "membrane"
    assert model.q_net.q_net.decoder.readout.readout == "max"


def test_save_load_identical_q_values_actions_and_options(tmp_path):
    kwargs = dict(SMALL, num_steps=6, decoder="rate", beta=0.8, threshold=0.9, learn_beta=True, learn_threshold=True)
    model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=kwargs, **FAST)
    model.learn(150)
    obs = np.stack([model.observation_space.sample() for _ in range(16)])
    q, actions = _q_values(model, obs), model.predict(obs, deterministic=True)[0]
    model.save(tmp_path / "dsqn")
    loaded = DSQN.load(tmp_path / "dsqn", device="cpu")
    np.testing.assert_array_equal(_q_values(loaded, obs), q)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)
    opts = loaded.policy.spiking_options
    assert (opts.num_steps, opts.decoder, opts.beta, opts.threshold) == (6, "rate", 0.8, 0.9)
    assert opts.learn_beta and opts.learn_threshold
    for name, tensor in model.q_net_target.state_dict().items():
        assert th.equal(tensor, loaded.q_net_target.state_dict()[name]), name


def test_batch_and_one_by_one_agree_and_repeat_exactly():
    model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    obs = np.stack([model.observation_space.sample() for _ in range(10)]).astype(np.float32)
    batch = _q_values(model, obs)
    np.testing.assert_array_equal(batch, _q_values(model, obs))
    one_by_one = np.concatenate([_q_values(model, o[None]) for o in obs])
    np.testing.assert_allclose(one_by_one, batch, rtol=1e-5, atol=1e-6)


def test_target_sync_copies_learnable_neuron_parameters():
    model = DSQN(
        "MlpPolicy",
        "CartPole-v1",
        policy_kwargs=dict(SMALL, learn_beta=True, learn_threshold=True),
        target_update_interval=1,
        **FAST,
    )
    model.learn(200)
    beta = model.q_net.get_parameter("q_net.lifs.0.beta")
    assert not th.allclose(beta, th.full_like(beta, 0.5)), "learnable beta was not trained"
    model._on_step()  # DQN's own target update (interval 1: every call)
    for name, tensor in model.q_net.state_dict().items():
        assert th.equal(tensor, model.q_net_target.state_dict()[name]), name


def test_spiking_false_is_plain_dqn():
    ann = DQN("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    twin = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(SMALL, spiking=False), **FAST)
    for (name, a), (_, b) in zip(ann.q_net.state_dict().items(), twin.q_net.state_dict().items(), strict=False):
        assert th.equal(a, b), name


def test_cnn_policy_on_images_first_conv_once():
    model = DSQN("CnnPolicy", _image_env(), policy_kwargs=dict(num_steps=3), **dict(FAST, buffer_size=200))
    body = model.q_net.q_net
    assert isinstance(body, SpikingNatureCNN) and isinstance(model.q_net.features_extractor, ImageInput)
    calls = []
    handle = body.convs[0].register_forward_hook(lambda m, i, o: calls.append(i[0].shape))
    model.learn(80)
    handle.remove()
    assert calls and all(len(shape) == 4 and shape[1] == 2 for shape in calls)  # [B, C, H, W], never T*B
    obs = model.env.reset()
    assert model.predict(obs, deterministic=True)[0].shape == (1,)
    assert [lif.beta.shape for lif in body.conv_lifs] == [(32, 1, 1), (64, 1, 1), (64, 1, 1)]


def test_cnn_policy_rejects_float_and_channel_last_images():
    float_env = gym.make("CartPole-v1")
    float_env.observation_space = spaces.Box(0.0, 1.0, (2, 40, 40), np.float32)
    with pytest.raises(ValueError, match="uint8"):
        DSQN("CnnPolicy", float_env, **FAST)
    with pytest.raises(ValueError, match="channel-first"):
        ImageInput(spaces.Box(0, 255, (40, 40, 3), np.uint8))
    with pytest.raises(ValueError, match="MlpPolicy"):
        ImageInput(spaces.Box(0, 255, (40,), np.uint8))
    with pytest.raises(ValueError, match="too small"):
        SpikingNatureCNN((1, 20, 20), 2)
    with pytest.raises(ValueError, match="encoder must be 'direct'"):
        DSQN("CnnPolicy", _image_env(), policy_kwargs=dict(encoder="rate"), **FAST)


def test_cnn_ann_twin_uses_nature_cnn():
    ann = DQN("CnnPolicy", _image_env(), **dict(FAST, buffer_size=100))
    twin = DSQN("CnnPolicy", _image_env(), policy_kwargs=dict(spiking=False), **dict(FAST, buffer_size=100))
    for (name, a), (_, b) in zip(ann.q_net.state_dict().items(), twin.q_net.state_dict().items(), strict=False):
        assert th.equal(a, b), name


def test_multi_input_policy_on_dict_observations():
    model = DSQN("MultiInputPolicy", SimpleMultiObsEnv(random_start=False), policy_kwargs=SMALL, **dict(FAST, buffer_size=200))
    model.learn(80)
    obs = model.env.reset()
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (1,) and 0 <= action[0] < 4


def test_optimize_memory_usage():
    model = DSQN(
        "MlpPolicy",
        "CartPole-v1",
        policy_kwargs=SMALL,
        optimize_memory_usage=True,
        replay_buffer_kwargs=dict(handle_timeout_termination=False),
        **FAST,
    )
    model.learn(120)


def test_box_action_space_names_dsqn():
    with pytest.raises(ValueError, match="DSQN supports only Discrete"):
        DSQN("MlpPolicy", "Pendulum-v1")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(num_steps=0), "num_steps"),
        (dict(num_steps=2.5), "num_steps"),
        (dict(decoder="softmax"), "decoder"),
        (dict(membrane_readout="median"), "membrane_readout"),
        (dict(beta=1.5), "beta"),
        (dict(threshold=0), "threshold"),
        (dict(spiking_critic=True), "spiking_critic"),
        (dict(surrogate="nope"), "surrogate"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=kwargs)


def test_nan_observation_raises():
    model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.array([0.0, np.nan, 0.0, 0.0], dtype=np.float32))


def test_energy_report_and_callback(tmp_path):
    model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(SMALL, num_steps=8), **FAST)
    model.set_logger(configure(str(tmp_path), ["tensorboard"]))
    callback = SpikeStatsCallback(log_freq=50, n_samples=32)
    model.learn(120, callback=callback)
    assert callback.last_report is not None and 0.0 < callback.last_report["firing_rate"] < 1.0
    obs = np.stack([model.observation_space.sample() for _ in range(32)])
    report = energy_report(model, obs)
    # membrane decoder: 4->32 once (MACs), 32->32 and 32->2 on spikes
    assert report["macs"] == pytest.approx(4 * 32)
    assert report["ann_macs"] == pytest.approx(4 * 32 + 32 * 32 + 32 * 2)
    ann = energy_report(DQN("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, device="cpu"), obs)
    assert ann["energy_j"] == pytest.approx(report["ann_energy_j"])


def test_cnn_energy_report_counts_convolutions():
    model = DSQN("CnnPolicy", _image_env(channel_first=True), policy_kwargs=dict(num_steps=2), **dict(FAST, buffer_size=10))
    obs = np.stack([model.observation_space.sample() for _ in range(4)])
    report = energy_report(model, obs)
    conv1_macs = 32 * 9 * 9 * 2 * 8 * 8  # 40x40 -> 9x9, computed once
    assert report["macs"] == pytest.approx(conv1_macs)
    assert report["synaptic_ops"] > 0 and 0.0 < report["firing_rate"] < 1.0
    assert report["ann_macs"] > conv1_macs


def test_spiking_cnn_gradients_reach_neuron_parameters():
    net = SpikingNatureCNN((1, 36, 36), 3, [16], SpikingOptions(num_steps=3, learn_beta=True, learn_threshold=True))
    net(th.rand(4, 1, 36, 36)).sum().backward()
    for name, param in net.named_parameters():
        assert param.grad is not None and th.isfinite(param.grad).all(), name
    assert any(isinstance(m, LIF) and m.beta.grad.abs().sum() > 0 for m in net.modules())


def test_atari_smoke_pong_with_sb3_wrappers():
    """DSQN's CnnPolicy on PongNoFrameskip-v4 with make_atari_env + VecFrameStack learns a few
    thousand steps without error (the spiking Nature CNN on real 84x84x4 frames)."""
    ale_py = pytest.importorskip("ale_py")
    gym.register_envs(ale_py)
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    env = VecFrameStack(make_atari_env("PongNoFrameskip-v4", n_envs=1, seed=0), n_stack=4)
    model = DSQN(
        "CnnPolicy",
        env,
        policy_kwargs=dict(num_steps=4),
        buffer_size=2000,
        learning_starts=1000,
        batch_size=16,
        train_freq=8,
        target_update_interval=500,
        optimize_memory_usage=True,
        replay_buffer_kwargs=dict(handle_timeout_termination=False),
        seed=0,
        device="cpu",
    )
    model.learn(1500)
    assert model._n_updates >= 60
    obs = env.reset()
    q = _q_values(model, obs)
    assert q.shape == (1, 6) and np.isfinite(q).all()
    env.close()
