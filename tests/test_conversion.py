"""ANN-to-SNN conversion of DQN (convert_dqn), the spike-count decoder, and the convert command."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.envs import FakeImageEnv, SimpleMultiObsEnv
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from torch import nn

from sb3_spiking import DSQN, energy_report
from sb3_spiking.conversion import (
    action_agreement,
    convert_dqn,
    layer_scales,
    record_frames,
)
from sb3_spiking.convert import main as convert_main
from sb3_spiking.snn import LIF, OpCounter, SpikingMLP, SpikingNatureCNN, SpikingOptions
from sb3_spiking.snn.decoders import SpikeCountDecoder
from sb3_spiking.snn.encoders import DirectEncoder

#: A linear CartPole controller that balances for 500 steps: push right iff W_CTRL . obs > 0.
W_CTRL = th.tensor([0.1, 0.5, 1.0, 0.5])


def hand_built_dqn(seed: int = 0) -> DQN:
    """A tiny DQN (4 -> 16 -> 16 -> 2) whose greedy action is the controller's: Q_right - Q_left =
    relu(s) - relu(-s) with s = W_CTRL . obs, plus distractor units (equal weight in both Q's)."""
    model = DQN("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [16, 16]}, seed=seed, device="cpu")
    g = th.Generator().manual_seed(seed)
    l1, l2, l3 = [m for m in model.q_net.q_net if isinstance(m, nn.Linear)]
    with th.no_grad():
        l1.weight.copy_(th.randn(16, 4, generator=g) * 0.1)
        l1.bias.copy_(th.rand(16, generator=g) * 0.1)
        l1.weight[0], l1.weight[1], l1.bias[:2] = W_CTRL, -W_CTRL, 0.0
        l2.weight.copy_(th.randn(16, 16, generator=g).abs() * 0.1)
        l2.bias.zero_()
        l2.weight[:2], l2.weight[2:, :2] = 0.0, 0.0
        l2.weight[0, 0] = l2.weight[1, 1] = 1.0  # units 0/1 pass relu(s) / relu(-s) on
        shared = th.rand(16, generator=g) * 0.1
        shared[:2] = 0.0
        l3.weight.copy_(th.stack([shared, shared]))
        l3.weight[0, 1] = l3.weight[1, 0] = 1.0
        l3.bias.fill_(10.0)
    model.q_net_target.load_state_dict(model.q_net.state_dict())
    return model


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def dqn():
    return hand_built_dqn()


@pytest.fixture(scope="module")
def frames(dqn):
    return record_frames(dqn, gym.make("CartPole-v1"), 2000, seed=0)


def _q(model, obs):
    with th.no_grad():
        return model.q_net(model.policy.obs_to_tensor(obs)[0]).numpy()


# -- the decoder -------------------------------------------------------------------------------


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("beta", [1.0, 0.8])
def test_spike_count_decoder_is_count_plus_final_membrane_of_the_engine_lif(beta, reset):
    th.manual_seed(0)
    decoder = SpikeCountDecoder(8, 3, 30, beta=beta, threshold=0.7, reset_mechanism=reset)
    spikes = (th.rand(30, 5, 8) < 0.4).float()
    current = decoder.linear(spikes)
    mem, count = None, 0.0
    for t in range(30):  # the LIF's own step, one at a time
        spk, mem = decoder.lif.step(current[t], mem)
        count = count + spk
    expected = (count + mem).detach()
    assert count.sum() > 0, "no output spike: the test would not check the count"
    th.testing.assert_close(decoder(spikes).detach(), expected, rtol=0, atol=1e-5)
    np.testing.assert_allclose(decoder.numpy_forward(spikes.numpy()), expected.numpy(), atol=1e-5)


def test_spike_count_decoder_options_and_errors():
    opts = SpikingOptions(decoder="spike_count", beta=1.0, num_steps=4)
    net = SpikingMLP(3, 2, [8], opts)
    assert isinstance(net.decoder, SpikeCountDecoder) and float(net.decoder.lif.beta[0]) == 1.0
    with pytest.raises(ValueError, match="decoder_kwargs"):
        SpikingOptions(decoder="spike_count", decoder_kwargs={"pop_dim": 3})


def test_spike_count_decoder_accounting_counts_output_spikes():
    net = SpikingMLP(3, 2, [8], SpikingOptions(decoder="spike_count", beta=1.0, num_steps=10))
    with th.no_grad():
        net.decoder.linear.weight.fill_(0.5)
        net.decoder.linear.bias.fill_(0.5)  # >= 0.5 per step: the output neurons fire
    x = th.randn(4, 3)
    with OpCounter(net) as counter:
        net(x)
    layers = counter.summary(4)["layers"]
    assert layers["decoder.lif"]["kind"] == "neurons" and layers["decoder.lif"]["spikes"] > 0
    hidden = layers["lifs.0"]["spikes"]
    assert layers["decoder.linear"]["synaptic_ops"] == pytest.approx(hidden * 2)


# -- convert_dqn on the hand-built DQN ---------------------------------------------------------


def test_converted_model_is_an_if_dsqn_with_scaled_weights(dqn, frames):
    snn = convert_dqn(dqn, frames, num_steps=50)
    assert isinstance(snn, DSQN) and isinstance(snn.q_net.q_net, SpikingMLP)
    body = snn.q_net.q_net
    assert isinstance(body.encoder, DirectEncoder) and isinstance(body.decoder, SpikeCountDecoder)
    for lif in [*body.lifs, body.decoder.lif]:
        assert isinstance(lif, LIF) and lif.reset_mechanism == "subtract"
        assert th.all(lif.beta == 1.0) and th.all(lif.threshold == 1.0)
    opts = snn.policy.spiking_options
    assert (opts.num_steps, opts.encoder, opts.decoder, opts.beta, opts.threshold) == (50, "direct", "spike_count", 1.0, 1.0)
    report = snn.conversion_report
    scales = layer_scales(dqn, frames[:1600])
    assert report["scales"] == pytest.approx(scales) and report["n_calibration_frames"] == 1600
    ann = [m for m in dqn.q_net.q_net if isinstance(m, nn.Linear)]
    previous = 1.0
    for layer, target, scale in zip(ann, [*body.fcs, body.decoder.linear], scales, strict=False):
        th.testing.assert_close(target.weight, layer.weight * previous / scale)
        th.testing.assert_close(target.bias, layer.bias / scale)
        previous = scale
    for name, tensor in snn.q_net.state_dict().items():
        assert th.equal(tensor, snn.q_net_target.state_dict()[name]), name


def test_agreement_at_least_95_percent_at_t500_calibrating_on_the_env(dqn):
    snn = convert_dqn(dqn, gym.make("CartPole-v1"), n_frames=2000, seed=0)
    report = snn.conversion_report
    assert report["num_steps"] == 500 and report["n_held_out_frames"] == 400
    assert report["agreement"] >= 0.95


def test_agreement_rises_with_t(dqn, frames):
    agreement = [convert_dqn(dqn, frames, num_steps=t).conversion_report["agreement"] for t in (5, 50, 500)]
    assert agreement[0] < agreement[1] < agreement[2], agreement


def test_q_values_approach_t_times_ann_q_over_output_scale(dqn, frames):
    snn = convert_dqn(dqn, frames, num_steps=500)
    obs = frames[-400:]
    q_ann = _q(dqn, obs)
    q_snn = _q(snn, obs) * snn.conversion_report["scales"][-1] / 500
    assert np.abs(q_snn - q_ann).max() < 0.01 * np.abs(q_ann).max()


def test_numpy_and_torch_routes_agree(dqn, frames):
    snn = convert_dqn(dqn, frames, num_steps=100)
    obs = frames[-40:]
    fast = snn.predict(obs, deterministic=True)[0]  # <= 64 rows: the NumPy route
    body = snn.q_net.q_net
    assert body.numpy_ready(len(obs))
    body.numpy_inference = False
    try:
        slow = snn.predict(obs, deterministic=True)[0]
    finally:
        del body.numpy_inference
    np.testing.assert_array_equal(fast, slow)


def test_save_load_restores_the_converted_model(dqn, frames, tmp_path):
    snn = convert_dqn(dqn, frames, num_steps=60)
    snn.save(tmp_path / "snn")
    loaded = DSQN.load(tmp_path / "snn", device="cpu")
    obs = frames[-100:]
    np.testing.assert_array_equal(_q(loaded, obs), _q(snn, obs))
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], snn.predict(obs, deterministic=True)[0])
    assert isinstance(loaded.q_net.q_net.decoder, SpikeCountDecoder)
    assert loaded.policy.spiking_options == snn.policy.spiking_options
    assert loaded.conversion_report == snn.conversion_report


def test_evaluate_policy_and_energy_report(dqn, frames):
    snn = convert_dqn(dqn, frames, num_steps=100)
    env = Monitor(gym.make("CartPole-v1"))
    env.reset(seed=3)
    mean, _ = evaluate_policy(snn, env, n_eval_episodes=1)
    assert mean > 100  # the controller balances; a broken conversion falls within ~10-50 steps
    report = energy_report(snn, frames[-64:])
    assert report["macs"] == pytest.approx(4 * 16)  # direct input: first layer once
    assert report["layers"]["q_net.q_net.decoder.lif"]["spikes"] > 0
    assert report["synaptic_ops"] > 0 and report["ann_macs"] == pytest.approx(4 * 16 + 16 * 16 + 16 * 2)


def test_cnn_policy_conversion(tmp_path):
    env = FakeImageEnv(screen_height=36, screen_width=36, n_channels=1, discrete=True, channel_first=True)
    dqn = DQN(
        "CnnPolicy",
        env,
        buffer_size=100,
        policy_kwargs={"features_extractor_kwargs": {"features_dim": 32}},
        seed=0,
        device="cpu",
    )
    frames = np.stack([env.observation_space.sample() for _ in range(30)])
    snn = convert_dqn(dqn, frames, num_steps=10, held_out=0.2)
    body = snn.q_net.q_net
    assert isinstance(body, SpikingNatureCNN) and body.hidden_sizes == [32]
    assert all(th.all(lif.beta == 1.0) for lif in body.conv_lifs)
    scales = snn.conversion_report["scales"]
    assert len(scales) == 5 and all(s > 0 for s in scales)
    cnn = dqn.q_net.features_extractor
    th.testing.assert_close(body.convs[0].weight, cnn.cnn[0].weight / scales[0])
    th.testing.assert_close(body.convs[1].weight, cnn.cnn[2].weight * scales[0] / scales[1])
    th.testing.assert_close(body.fcs[0].bias, cnn.linear[0].bias / scales[3])
    assert 0.0 <= snn.conversion_report["agreement"] <= 1.0
    snn.save(tmp_path / "cnn")
    loaded = DSQN.load(tmp_path / "cnn", device="cpu")
    np.testing.assert_array_equal(_q(loaded, frames[:4]), _q(snn, frames[:4]))
    assert energy_report(snn, frames[:2])["synaptic_ops"] >= 0


def test_action_agreement_of_a_model_with_itself(dqn, frames):
    assert action_agreement(dqn, dqn, frames[:50]) == 1.0


# -- bad input ---------------------------------------------------------------------------------


def test_rejects_models_that_cannot_be_converted(frames):
    with pytest.raises(TypeError, match="DQN"):
        convert_dqn(PPO("MlpPolicy", "CartPole-v1", device="cpu"), frames)
    with pytest.raises(TypeError, match="already a spiking DSQN"):
        convert_dqn(DSQN("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [8]}, device="cpu"), frames)
    tanh = DQN("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [8], "activation_fn": nn.Tanh}, device="cpu")
    with pytest.raises(ValueError, match="ReLU"):
        convert_dqn(tanh, frames)
    with pytest.raises(ValueError, match="hidden layer"):
        convert_dqn(DQN("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": []}, device="cpu"), frames)
    multi = DQN("MultiInputPolicy", SimpleMultiObsEnv(), buffer_size=10, device="cpu")
    with pytest.raises(ValueError, match=r"MlpPolicy.*CnnPolicy"):
        convert_dqn(multi, frames)


def test_ann_twin_of_dsqn_converts(frames):
    twin = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs={"net_arch": [8], "spiking": False}, device="cpu")
    assert isinstance(convert_dqn(twin, frames, num_steps=5), DSQN)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"num_steps": 0}, "num_steps"),
        ({"num_steps": 2.5}, "num_steps"),
        ({"percentile": 0}, "percentile"),
        ({"percentile": 100.5}, "percentile"),
        ({"percentile": "99"}, "percentile"),
        ({"held_out": 1.0}, "held_out"),
    ],
)
def test_bad_arguments(dqn, frames, kwargs, match):
    with pytest.raises(ValueError, match=match):
        convert_dqn(dqn, frames, **kwargs)


def test_calibration_that_does_not_fit(dqn, frames):
    with pytest.raises(ValueError, match=r"calibration observations must be an array of shape \(n, 4\)"):
        convert_dqn(dqn, frames[:, :3])
    with pytest.raises(ValueError, match="calibration observations must"):
        convert_dqn(dqn, frames[0])
    with pytest.raises(ValueError, match="NaN"):
        convert_dqn(dqn, np.full((10, 4), np.nan, dtype=np.float32))
    with pytest.raises(ValueError, match=r"calibration env does not fit.*Observation spaces"):
        convert_dqn(dqn, gym.make("Acrobot-v1"))
    box_actions = gym.make("CartPole-v1")
    box_actions.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    with pytest.raises(ValueError, match=r"calibration env does not fit.*Action spaces"):
        convert_dqn(dqn, box_actions)
    with pytest.raises(ValueError, match="must be numbers"):
        convert_dqn(dqn, np.array([["a", "b", "c", "d"]]))
    with pytest.raises(TypeError, match="calibration must be an env"):
        convert_dqn(dqn, "CartPole-v1")


# -- the command -------------------------------------------------------------------------------


def test_convert_command_prints_a_row_per_t(dqn, tmp_path, capsys):
    dqn.save(tmp_path / "dqn")
    argv = ["--model", str(tmp_path / "dqn.zip"), "--env", "CartPole-v1", "--num-steps", "5", "40"]
    convert_main([*argv, "--n-frames", "300", "--n-episodes", "1", "--energy-frames", "16"])
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| network | T | mean return | agreement | energy")
    assert lines[1].startswith("| DQN (ANN) | - | 500.0")
    assert lines[2].startswith("| converted SNN | 5 |") and lines[3].startswith("| converted SNN | 40 |")
