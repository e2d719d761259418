"""SpikingSAC: spiking actor producing mean and log-std; save/load, options, errors."""

import numpy as np
import pytest
import torch as th
from stable_baselines3 import SAC

from sb3_spiking import SpikingSAC, energy_report
from sb3_spiking.sac.policies import SpikingSACActor
from sb3_spiking.snn import SpikingMLP
from sb3_spiking.td3.policies import SpikingContinuousCritic

SMALL = dict(net_arch=[32, 32], num_steps=4)
FAST = dict(learning_starts=50, batch_size=32, buffer_size=1000, seed=0, device="cpu")


def _obs(model, n=8):
    model.observation_space.seed(0)
    return np.stack([model.observation_space.sample() for _ in range(n)])


def test_actor_is_spiking_critics_ann_by_default():
    model = SpikingSAC("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    assert isinstance(model.actor, SpikingSACActor) and isinstance(model.actor.body, SpikingMLP)
    assert model.actor.body.out_features == 2  # mean and log-std of one action
    assert not isinstance(model.critic, SpikingContinuousCritic)
    model.learn(100)
    actions, _ = model.predict(_obs(model), deterministic=True)
    assert actions.shape == (8, 1) and np.all(np.abs(actions) <= 2.0)


def test_save_load_identical_actions_and_options(tmp_path):
    kwargs = dict(SMALL, encoder="population", decoder="rate", learn_beta=True, spiking_critic=True)
    model = SpikingSAC("MlpPolicy", "Pendulum-v1", policy_kwargs=kwargs, **FAST)
    model.learn(100)
    obs = _obs(model, 16)
    actions = model.predict(obs, deterministic=True)[0]
    model.save(tmp_path / "sac")
    loaded = SpikingSAC.load(tmp_path / "sac", device="cpu")
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)
    opts = loaded.policy.spiking_options
    assert (opts.encoder, opts.decoder, opts.learn_beta, opts.num_steps) == ("population", "rate", True, 4)
    assert isinstance(loaded.critic, SpikingContinuousCritic)


def test_gradients_reach_actor_and_log_std_depends_on_obs():
    model = SpikingSAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(SMALL, learn_threshold=True), **FAST)
    obs = th.as_tensor(_obs(model, 16))
    actions, log_prob = model.actor.action_log_prob(obs)
    (actions.sum() + log_prob.sum()).backward()
    for name, param in model.actor.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    _, log_std, _ = model.actor.get_action_dist_params(obs)
    assert log_std.std() > 0


def test_spiking_false_is_plain_sac():
    ann = SAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[32, 32]), **FAST)
    twin = SpikingSAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[32, 32], spiking=False), **FAST)
    for (name, a), (_, b) in zip(ann.policy.state_dict().items(), twin.policy.state_dict().items(), strict=False):
        assert th.equal(a, b), name


def test_multi_input_policy():
    from gymnasium import spaces
    from stable_baselines3.common.envs import BitFlippingEnv

    env = BitFlippingEnv(n_bits=4, continuous=True)
    assert isinstance(env.observation_space, spaces.Dict)
    model = SpikingSAC("MultiInputPolicy", env, policy_kwargs=SMALL, **FAST)
    model.learn(80)
    obs, _ = env.reset()
    assert model.predict(obs, deterministic=True)[0].shape == (4,)


def test_errors():
    with pytest.raises(ValueError, match="SpikingSAC supports only Box"):
        SpikingSAC("MlpPolicy", "CartPole-v1")
    with pytest.raises(ValueError, match="num_steps"):
        SpikingSAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(num_steps=-1))
    model = SpikingSAC("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.array([np.inf, 0.0, 0.0], dtype=np.float32))


def test_energy_report():
    model = SpikingSAC("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    report = energy_report(model, _obs(model, 32))
    assert report["macs"] == pytest.approx(3 * 32)
    assert report["ann_macs"] == pytest.approx(3 * 32 + 32 * 32 + 32 * 2)
