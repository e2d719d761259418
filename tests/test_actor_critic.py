"""SpikingActorCriticPolicy with SB3's PPO/A2C and sb3-contrib's MaskablePPO; SpikingPPO/SpikingA2C."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from sb3_contrib.common.envs import InvalidActionEnvDiscrete
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import (
    IdentityEnv,
    IdentityEnvBox,
    IdentityEnvMultiBinary,
    IdentityEnvMultiDiscrete,
    SimpleMultiObsEnv,
)
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import SubprocVecEnv, VecNormalize

from sb3_spiking import (
    SpikingA2C,
    SpikingActorCriticCnnPolicy,
    SpikingActorCriticPolicy,
    SpikingMaskableActorCriticPolicy,
    SpikingMultiInputActorCriticPolicy,
    SpikingPPO,
    energy_report,
)
from sb3_spiking.snn import SpikingMLP

FAST = dict(n_steps=64, batch_size=32, n_epochs=2, seed=0, device="cpu")
SMALL = dict(net_arch=dict(pi=[32, 32], vf=[32, 32]), num_steps=4)

ENVS = {
    "Discrete": lambda: IdentityEnv(4),
    "Box": lambda: IdentityEnvBox(),
    "MultiDiscrete": lambda: IdentityEnvMultiDiscrete(3),
    "MultiBinary": lambda: IdentityEnvMultiBinary(3),
}


def _obs(model, n=8):
    model.observation_space.seed(0)
    return np.stack([model.observation_space.sample() for _ in range(n)])


@pytest.mark.parametrize("space", list(ENVS))
@pytest.mark.parametrize("algo", [PPO, A2C])
def test_every_action_space(space, algo):
    kwargs = dict(FAST) if algo is PPO else dict(n_steps=16, seed=0, device="cpu")
    model = algo(SpikingActorCriticPolicy, ENVS[space](), policy_kwargs=SMALL, **kwargs)
    assert isinstance(model.policy.mlp_extractor.policy_net, SpikingMLP)
    model.learn(128)
    obs = _obs(model)
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (8, *model.action_space.shape)
    assert all(model.action_space.contains(a) for a in actions) or space == "Box"
    np.testing.assert_array_equal(actions, model.predict(obs, deterministic=True)[0])


def test_spiking_ppo_aliases_and_drop_in_equivalence():
    a = SpikingPPO("MlpPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    b = PPO(SpikingActorCriticPolicy, "CartPole-v1", policy_kwargs=SMALL, **FAST)
    assert type(a.policy) is SpikingActorCriticPolicy
    for (name, x), (_, y) in zip(a.policy.state_dict().items(), b.policy.state_dict().items(), strict=False):
        assert th.equal(x, y), name
    assert type(SpikingA2C("MultiInputPolicy", SimpleMultiObsEnv(), device="cpu").policy) is SpikingMultiInputActorCriticPolicy


def test_save_load_identical_actions_and_options(tmp_path):
    kwargs = dict(SMALL, decoder="rate", beta=0.7, learn_threshold=True, spiking_critic=True)
    model = PPO(SpikingActorCriticPolicy, "Pendulum-v1", policy_kwargs=kwargs, **FAST)
    model.learn(128)
    obs = _obs(model, 16)
    actions = model.predict(obs, deterministic=True)[0]
    model.save(tmp_path / "ppo")
    loaded = PPO.load(tmp_path / "ppo", device="cpu")
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)
    assert isinstance(loaded.policy, SpikingActorCriticPolicy)
    opts = loaded.policy.spiking_options
    assert (opts.decoder, opts.beta, opts.learn_threshold, opts.num_steps) == ("rate", 0.7, True, 4)
    assert loaded.policy.spiking_critic and isinstance(loaded.policy.mlp_extractor.value_net, SpikingMLP)
    loaded.set_env(make_vec_env("Pendulum-v1", n_envs=1))
    loaded.learn(64)  # resumes


def test_value_network_is_ann_by_default_and_log_std_is_sb3s():
    model = PPO(SpikingActorCriticPolicy, "Pendulum-v1", policy_kwargs=SMALL, **FAST)
    assert isinstance(model.policy.mlp_extractor.value_net, th.nn.Sequential)
    assert isinstance(model.policy.value_net, th.nn.Linear)
    assert model.policy.log_std.shape == (1,) and isinstance(model.policy.action_net, th.nn.Identity)


def test_spiking_false_is_plain_ppo():
    ann = PPO("MlpPolicy", "CartPole-v1", **FAST)
    twin = PPO(SpikingActorCriticPolicy, "CartPole-v1", policy_kwargs=dict(spiking=False), **FAST)
    for (name, a), (_, b) in zip(ann.policy.state_dict().items(), twin.policy.state_dict().items(), strict=False):
        assert th.equal(a, b), name


def test_gradients_reach_learnable_neuron_parameters():
    # readout "mean": with "max" a single output whose maximum lies at t=0 for every sample (a
    # negative bias) rightly sends no gradient to the decays of later steps
    kwargs = dict(SMALL, encoder="population", learn_beta=True, learn_threshold=True, spiking_critic=True)
    kwargs.update(decoder="membrane", membrane_readout="mean")
    model = PPO(SpikingActorCriticPolicy, "Pendulum-v1", policy_kwargs=kwargs, **FAST)
    obs = th.as_tensor(_obs(model, 16))
    actions = th.as_tensor(np.stack([model.action_space.sample() for _ in range(16)]))
    values, log_prob, _ = model.policy.evaluate_actions(obs, actions)  # what PPO's loss uses
    (values.sum() + log_prob.sum()).backward()
    for name, param in model.policy.named_parameters():
        if "mlp_extractor" in name:
            assert param.grad is not None and th.isfinite(param.grad).all() and param.grad.abs().sum() > 0, name


def test_evaluate_policy_subproc_and_vecnormalize():
    env = VecNormalize(make_vec_env("CartPole-v1", n_envs=2, vec_env_cls=SubprocVecEnv))
    model = PPO(SpikingActorCriticPolicy, env, policy_kwargs=SMALL, **FAST)
    model.learn(256)
    env.training = False
    mean, _ = evaluate_policy(model, env, n_eval_episodes=2)
    assert np.isfinite(mean)
    env.close()


def test_multi_input_policy_and_cnn_policy():
    model = PPO(SpikingMultiInputActorCriticPolicy, SimpleMultiObsEnv(random_start=False), policy_kwargs=SMALL, **FAST)
    model.learn(64)
    assert model.predict(model.env.reset(), deterministic=True)[0].shape == (1,)
    from stable_baselines3.common.envs import FakeImageEnv

    cnn = PPO(SpikingActorCriticCnnPolicy, FakeImageEnv(screen_height=40, screen_width=40, discrete=True), **FAST)
    assert cnn.policy.mlp_extractor.policy_net.hidden_sizes == [256]
    cnn.learn(64)


def test_maskable_ppo():
    env = InvalidActionEnvDiscrete(dim=8, n_invalid_actions=4)
    model = MaskablePPO(SpikingMaskableActorCriticPolicy, env, policy_kwargs=SMALL, **FAST)
    model.learn(128)
    obs, _ = env.reset(seed=0)
    masks = env.action_masks()
    for _ in range(10):
        action, _ = model.predict(obs, action_masks=masks)
        assert masks[action]


def test_energy_report_on_ppo():
    model = PPO(SpikingActorCriticPolicy, "CartPole-v1", policy_kwargs=SMALL, **FAST)
    report = energy_report(model, _obs(model, 32))
    assert report["macs"] == pytest.approx(4 * 32)  # direct first layer once, actor only
    assert report["synaptic_ops"] > 0 and report["ann_macs"] == pytest.approx(4 * 32 + 32 * 32 + 32 * 2)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(num_steps=0), "num_steps"),
        (dict(encoder="morse"), "encoder"),
        (dict(net_arch=dict(pi=[], vf=[64])), "at least one hidden layer"),
        (dict(beta=0.0), "beta"),
        (dict(unknown_option=1), "unknown_option"),
    ],
)
def test_bad_options(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        PPO(SpikingActorCriticPolicy, "CartPole-v1", policy_kwargs=kwargs, device="cpu")


def test_bad_spaces_named():
    env = gym.make("CartPole-v1")
    env.action_space = spaces.Tuple([spaces.Discrete(2), spaces.Discrete(2)])
    with pytest.raises(ValueError, match="Tuple"):
        SpikingPPO("MlpPolicy", env, device="cpu")


def test_nan_observation_raises():
    model = PPO(SpikingActorCriticPolicy, "CartPole-v1", policy_kwargs=SMALL, **FAST)
    with pytest.raises(ValueError, match="NaN"):
        model.predict(np.array([np.nan, 0, 0, 0], dtype=np.float32))
