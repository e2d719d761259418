"""SpikingQRDQN: spaces, readouts, save/load, target copy, ANN twin, errors, accounting."""

import numpy as np
import pytest
import torch as th
from sb3_contrib import QRDQN
from stable_baselines3.common.envs import FakeImageEnv, SimpleMultiObsEnv
from stable_baselines3.common.logger import configure

from sb3_spiking import SpikeStatsCallback, SpikingQRDQN, energy_report
from sb3_spiking.common.torch_layers import ImageInput
from sb3_spiking.qrdqn.policies import SpikingQuantileNetwork
from sb3_spiking.snn import SpikingMLP, SpikingNatureCNN

SMALL = dict(net_arch=[32, 32], n_quantiles=5)
FAST = dict(learning_starts=50, batch_size=16, buffer_size=1000, train_freq=4, seed=0, device="cpu")


def _image_env(channel_first=False):
    return FakeImageEnv(screen_height=40, screen_width=40, n_channels=2, discrete=True, channel_first=channel_first)


def _quantiles(model, obs):
    obs_t, _ = model.policy.obs_to_tensor(obs)
    with th.no_grad():
        return model.quantile_net(obs_t).numpy()


def _obs(model, n):
    model.observation_space.seed(0)
    return np.stack([model.observation_space.sample() for _ in range(n)]).astype(np.float32)


READOUTS = [
    dict(decoder="membrane", membrane_readout="max"),
    dict(decoder="membrane", membrane_readout="last"),
    dict(decoder="rate"),
    dict(decoder="learnable"),
    dict(decoder="population"),
]


@pytest.mark.parametrize("readout", READOUTS, ids=lambda r: "-".join(r.values()))
def test_every_readout_builds_trains_and_outputs_all_quantiles(readout):
    model = SpikingQRDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(SMALL, num_steps=4, **readout), **FAST)
    before = [p.detach().clone() for p in model.quantile_net.parameters()]
    model.learn(120)
    assert any(not th.equal(a, b) for a, b in zip(before, model.quantile_net.parameters(), strict=False)), (
        "no parameter was updated"
    )
    obs = _obs(model, 5)
    quantiles = _quantiles(model, obs)
    assert quantiles.shape == (5, 5, 2)  # [B, n_quantiles, n_actions]
    actions, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(actions, quantiles.mean(axis=1).argmax(axis=1))


def test_quantile_network_is_spiking_and_default_readout_is_membrane_max():
    model = SpikingQRDQN("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    assert isinstance(model.quantile_net, SpikingQuantileNetwork)
    body = model.quantile_net.quantile_net
    assert isinstance(body, SpikingMLP) and body.out_features == 5 * 2
    assert isinstance(model.quantile_net_target.quantile_net, SpikingMLP)
    assert model.quantile_net_target is not model.quantile_net
    assert model.policy.spiking_options.decoder == "membrane"
    assert body.decoder.readout.readout == "max"
    # the quantiles of one action differ (one output neuron each), and no hidden state crosses calls
    obs = _obs(model, 8)
    q = _quantiles(model, obs)
    assert np.ptp(q, axis=1).max() > 0
    np.testing.assert_array_equal(q, _quantiles(model, obs))


def test_numpy_predict_route_matches_torch_route():
    model = SpikingQRDQN("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    model.learn(200)
    obs = _obs(model, 6)
    fast = model.policy.predict(obs, deterministic=True)[0]
    obs_t, _ = model.policy.obs_to_tensor(obs)
    with th.no_grad():
        slow = model.policy._predict(obs_t, deterministic=True).numpy()
    np.testing.assert_array_equal(fast, slow)
    assert model.policy.predict(obs[0], deterministic=True)[0].shape == ()


def test_save_load_identical_quantiles_actions_and_options(tmp_path):
    kwargs = dict(SMALL, num_steps=6, decoder="rate", beta=0.8, threshold=0.9, learn_beta=True, learn_threshold=True)
    model = SpikingQRDQN("MlpPolicy", "CartPole-v1", policy_kwargs=kwargs, **FAST)
    model.learn(150)
    obs = _obs(model, 16)
    q, actions = _quantiles(model, obs), model.predict(obs, deterministic=True)[0]
    model.save(tmp_path / "qrdqn")
    loaded = SpikingQRDQN.load(tmp_path / "qrdqn", device="cpu")
    np.testing.assert_array_equal(_quantiles(loaded, obs), q)
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)
    opts = loaded.policy.spiking_options
    assert (opts.num_steps, opts.decoder, opts.beta, opts.threshold) == (6, "rate", 0.8, 0.9)
    assert opts.learn_beta and opts.learn_threshold and loaded.n_quantiles == 5
    for name, tensor in model.quantile_net_target.state_dict().items():
        assert th.equal(tensor, loaded.quantile_net_target.state_dict()[name]), name
    # the dict the model was built with is accepted on load (resolved as the stored one)
    SpikingQRDQN.load(tmp_path / "qrdqn", device="cpu", policy_kwargs=kwargs)


def test_target_is_full_copy_including_learnable_neuron_parameters():
    model = SpikingQRDQN(
        "MlpPolicy",
        "CartPole-v1",
        policy_kwargs=dict(SMALL, learn_beta=True, learn_threshold=True),
        target_update_interval=1,
        **FAST,
    )
    model.learn(200)
    beta = model.quantile_net.get_parameter("quantile_net.lifs.0.beta")
    assert not th.allclose(beta, th.full_like(beta, 0.5)), "learnable beta was not trained"
    model._on_step()  # QR-DQN's own target update (interval 1: every call)
    target = model.quantile_net_target.state_dict()
    assert any("beta" in name for name in target)
    for name, tensor in model.quantile_net.state_dict().items():
        assert th.equal(tensor, target[name]), name


def test_spiking_false_is_plain_qrdqn():
    ann = QRDQN("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    twin = SpikingQRDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(SMALL, spiking=False), **FAST)
    assert type(twin.quantile_net) is type(ann.quantile_net)
    for (name, a), (_, b) in zip(ann.policy.state_dict().items(), twin.policy.state_dict().items(), strict=False):
        assert th.equal(a, b), name
    # trained the same way too (each built right before learning: SB3 seeds the global generators)
    trained = [
        cls("MlpPolicy", "CartPole-v1", policy_kwargs=kw, **FAST).learn(120)
        for cls, kw in [(QRDQN, SMALL), (SpikingQRDQN, dict(SMALL, spiking=False))]
    ]
    obs = _obs(ann, 8)
    np.testing.assert_array_equal(_quantiles(trained[0], obs), _quantiles(trained[1], obs))


def test_cnn_policy_spiking_nature_cnn_and_ann_twin():
    model = SpikingQRDQN(
        "CnnPolicy", _image_env(), policy_kwargs=dict(num_steps=3, n_quantiles=4), **dict(FAST, buffer_size=200)
    )
    body = model.quantile_net.quantile_net
    assert isinstance(body, SpikingNatureCNN) and isinstance(model.quantile_net.features_extractor, ImageInput)
    n_actions = int(model.action_space.n)
    assert body.out_features == 4 * n_actions
    model.learn(80)
    obs = model.env.reset()
    assert model.predict(obs, deterministic=True)[0].shape == (1,)
    assert _quantiles(model, obs).shape == (1, 4, n_actions)
    ann = QRDQN("CnnPolicy", _image_env(), policy_kwargs=dict(n_quantiles=4), **dict(FAST, buffer_size=100))
    twin = SpikingQRDQN(
        "CnnPolicy", _image_env(), policy_kwargs=dict(n_quantiles=4, spiking=False), **dict(FAST, buffer_size=100)
    )
    for (name, a), (_, b) in zip(ann.policy.state_dict().items(), twin.policy.state_dict().items(), strict=False):
        assert th.equal(a, b), name


def test_cnn_policy_errors():
    with pytest.raises(ValueError, match="encoder must be 'direct'"):
        SpikingQRDQN("CnnPolicy", _image_env(), policy_kwargs=dict(encoder="rate"), **FAST)
    with pytest.raises(ValueError, match="image observations"):
        SpikingQRDQN("CnnPolicy", "CartPole-v1", **FAST)


def test_multi_input_policy_on_dict_observations():
    model = SpikingQRDQN(
        "MultiInputPolicy", SimpleMultiObsEnv(random_start=False), policy_kwargs=SMALL, **dict(FAST, buffer_size=200)
    )
    model.learn(80)
    obs = model.env.reset()
    action, _ = model.predict(obs, deterministic=True)
    assert action.shape == (1,) and 0 <= action[0] < 4


def test_box_action_space_names_the_class():
    with pytest.raises(ValueError, match="SpikingQRDQN supports only Discrete"):
        SpikingQRDQN("MlpPolicy", "Pendulum-v1")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(num_steps=0), "num_steps"),
        (dict(decoder="softmax"), "decoder"),
        (dict(beta=1.5), "beta"),
        (dict(spiking_critic=True), "spiking_critic"),
        (dict(n_quantiles=0), "n_quantiles"),
        (dict(n_quantiles=2.5), "n_quantiles"),
        (dict(num_step=4), "unknown policy_kwargs"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SpikingQRDQN("MlpPolicy", "CartPole-v1", policy_kwargs=kwargs)


def test_nan_observation_raises():
    model = SpikingQRDQN("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.array([0.0, np.nan, 0.0, 0.0], dtype=np.float32), deterministic=True)


def test_energy_report_and_callback(tmp_path):
    model = SpikingQRDQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(SMALL, num_steps=8), **FAST)
    model.set_logger(configure(str(tmp_path), ["tensorboard"]))
    callback = SpikeStatsCallback(log_freq=50, n_samples=32)
    model.learn(120, callback=callback)
    assert callback.last_report is not None and 0.0 < callback.last_report["firing_rate"] < 1.0
    obs = _obs(model, 32)
    report = energy_report(model, obs)
    # membrane decoder: 4->32 once (MACs), 32->32 and 32->(5 quantiles x 2 actions) on spikes
    assert report["macs"] == pytest.approx(4 * 32)
    assert report["ann_macs"] == pytest.approx(4 * 32 + 32 * 32 + 32 * 10)
    assert report["synaptic_ops"] > 0
    ann = energy_report(QRDQN("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, device="cpu"), obs)
    assert ann["energy_j"] == pytest.approx(report["ann_energy_j"])
