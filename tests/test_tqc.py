"""SpikingTQC: spiking actor producing mean and log-std, ANN or spiking quantile critics;
save/load, ANN twin, options, errors, accounting."""

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib import TQC
from sb3_contrib.tqc.policies import Actor as TQCActor
from sb3_contrib.tqc.policies import Critic as TQCCritic
from stable_baselines3.common.envs import BitFlippingEnv
from stable_baselines3.common.logger import configure

from sb3_spiking import SpikeStatsCallback, SpikingTQC, energy_report
from sb3_spiking.snn import SpikingMLP
from sb3_spiking.tqc.policies import SpikingQuantileCritic, SpikingTQCActor

SMALL = dict(net_arch=[32, 32], num_steps=4, n_quantiles=5)
FAST = dict(learning_starts=50, batch_size=32, buffer_size=1000, seed=0, device="cpu")


def _obs(model, n=8):
    model.observation_space.seed(0)
    return np.stack([model.observation_space.sample() for _ in range(n)])


def test_actor_is_spiking_critics_ann_by_default():
    model = SpikingTQC("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    assert isinstance(model.actor, SpikingTQCActor) and isinstance(model.actor, TQCActor)
    assert isinstance(model.actor.body, SpikingMLP) and model.actor.body.out_features == 2  # mean, log-std
    assert type(model.critic) is TQCCritic and type(model.critic_target) is TQCCritic
    model.learn(100)
    actions, _ = model.predict(_obs(model), deterministic=True)
    assert actions.shape == (8, 1) and np.all(np.abs(actions) <= 2.0)
    quantiles = model.critic(th.as_tensor(_obs(model)), th.zeros(8, 1))
    assert quantiles.shape == (8, 2, 5)  # [B, n_critics, n_quantiles]


def test_spiking_critic_outputs_every_quantile_and_target_is_a_copy():
    kwargs = dict(SMALL, spiking_critic=True, learn_beta=True)
    model = SpikingTQC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(kwargs, n_critics=3), **FAST)
    assert isinstance(model.critic, SpikingQuantileCritic) and isinstance(model.critic_target, SpikingQuantileCritic)
    assert model.critic.quantiles_total == 15 and all(q.out_features == 5 for q in model.critic.q_networks)
    critic_before = [p.detach().clone() for p in model.critic.parameters()]
    model.learn(150)
    assert any(not th.equal(a, b) for a, b in zip(critic_before, model.critic.parameters(), strict=False)), (
        "critic not trained"
    )
    quantiles = model.critic(th.as_tensor(_obs(model)), th.zeros(8, 1))
    assert quantiles.shape == (8, 3, 5) and np.ptp(quantiles.detach().numpy(), axis=2).max() > 0
    target = model.critic_target.state_dict()
    assert set(target) == set(model.critic.state_dict()) and any("beta" in k for k in target)


def test_save_load_identical_actions_and_options(tmp_path):
    kwargs = dict(SMALL, encoder="population", decoder="rate", learn_beta=True, spiking_critic=True)
    model = SpikingTQC("MlpPolicy", "Pendulum-v1", policy_kwargs=kwargs, top_quantiles_to_drop_per_net=1, **FAST)
    model.learn(100)
    obs = _obs(model, 16)
    actions = model.predict(obs, deterministic=True)[0]
    model.save(tmp_path / "tqc")
    loaded = SpikingTQC.load(tmp_path / "tqc", device="cpu")
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)
    opts = loaded.policy.spiking_options
    assert (opts.encoder, opts.decoder, opts.learn_beta, opts.num_steps) == ("population", "rate", True, 4)
    assert isinstance(loaded.critic, SpikingQuantileCritic) and loaded.critic.n_quantiles == 5
    assert loaded.top_quantiles_to_drop_per_net == 1
    for name, tensor in model.critic_target.state_dict().items():
        assert th.equal(tensor, loaded.critic_target.state_dict()[name]), name
    SpikingTQC.load(tmp_path / "tqc", device="cpu", policy_kwargs=kwargs)  # the dict it was built with


def test_numpy_predict_route_matches_torch_route():
    model = SpikingTQC("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    obs = _obs(model, 5).astype(np.float32)
    fast = model.policy.predict(obs, deterministic=True)[0]
    obs_t, _ = model.policy.obs_to_tensor(obs)
    with th.no_grad():
        slow = model.policy.unscale_action(model.policy._predict(obs_t, deterministic=True).numpy())
    np.testing.assert_array_equal(fast, slow)


def test_gradients_reach_actor_and_log_std_depends_on_obs():
    model = SpikingTQC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(SMALL, learn_threshold=True), **FAST)
    obs = th.as_tensor(_obs(model, 16))
    actions, log_prob = model.actor.action_log_prob(obs)
    (actions.sum() + log_prob.sum()).backward()
    for name, param in model.actor.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    _, log_std, _ = model.actor.get_action_dist_params(obs)
    assert log_std.std() > 0


def test_spiking_false_is_plain_tqc():
    kwargs = dict(net_arch=[32, 32], n_quantiles=5)
    ann = TQC("MlpPolicy", "Pendulum-v1", policy_kwargs=kwargs, **FAST)
    twin = SpikingTQC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(kwargs, spiking=False), **FAST)
    assert type(twin.actor) is type(ann.actor) and type(twin.critic) is type(ann.critic)
    for (name, a), (_, b) in zip(ann.policy.state_dict().items(), twin.policy.state_dict().items(), strict=False):
        assert th.equal(a, b), name
    # gSDE: the ANN twin as TQC; the spiking actor draws the noise from its last layer's firing rates
    SpikingTQC("MlpPolicy", "Pendulum-v1", use_sde=True, policy_kwargs=dict(spiking=False), device="cpu")
    model = SpikingTQC("MlpPolicy", "Pendulum-v1", use_sde=True, policy_kwargs=SMALL, **FAST)
    assert model.actor.log_std.shape == (SMALL["net_arch"][-1], 1)
    model.learn(80)


def test_multi_input_policy():
    env = BitFlippingEnv(n_bits=4, continuous=True)
    assert isinstance(env.observation_space, spaces.Dict)
    model = SpikingTQC("MultiInputPolicy", env, policy_kwargs=SMALL, **FAST)
    model.learn(80)
    obs, _ = env.reset()
    assert model.predict(obs, deterministic=True)[0].shape == (4,)


@pytest.mark.parametrize(
    "kwargs,policy_kwargs,match",
    [
        ({}, dict(num_steps=-1), "num_steps"),
        ({}, dict(n_quantiles=0), "n_quantiles"),
        ({}, dict(n_critics=1.5), "n_critics"),
        ({}, dict(encoder="poisson"), "encoder"),
        ({}, dict(spiking_critic="yes"), "spiking_critic"),
    ],
)
def test_bad_input(kwargs, policy_kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        SpikingTQC("MlpPolicy", "Pendulum-v1", policy_kwargs=policy_kwargs, device="cpu", **kwargs)


def test_discrete_action_space_names_the_class_and_nan_raises():
    with pytest.raises(ValueError, match="SpikingTQC supports only Box"):
        SpikingTQC("MlpPolicy", "CartPole-v1")
    model = SpikingTQC("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.array([np.inf, 0.0, 0.0], dtype=np.float32), deterministic=True)


def test_energy_report_and_callback(tmp_path):
    model = SpikingTQC("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    model.set_logger(configure(str(tmp_path), ["tensorboard"]))
    callback = SpikeStatsCallback(log_freq=50, n_samples=32)
    model.learn(100, callback=callback)
    assert callback.last_report is not None and 0.0 < callback.last_report["firing_rate"] < 1.0
    report = energy_report(model, _obs(model, 32))
    # the decision path is the actor only: 3->32 once (MACs), then spikes
    assert report["macs"] == pytest.approx(3 * 32)
    assert report["ann_macs"] == pytest.approx(3 * 32 + 32 * 32 + 32 * 2)
