"""gSDE (use_sde=True) with a spiking actor: the noise is drawn from the last hidden layer's
firing rates, with SB3's sde_sample_freq / log_std_init / full_std semantics."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import A2C, PPO, SAC
from stable_baselines3.common.distributions import StateDependentNoiseDistribution

from sb3_spiking import SpikingA2C, SpikingActorCriticPolicy, SpikingPPO, SpikingSAC


class TwoActionEnv(gym.Env):
    """Box(3) observations, Box(2) actions: full_std changes the exploration matrix's shape."""

    observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
    action_space = spaces.Box(-1.0, 1.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), -float(np.sum(np.square(action))), False, False, {}


NET = dict(net_arch=[32, 16], num_steps=4)
ON_POLICY = dict(n_steps=32, seed=0, device="cpu")


def make(algo: str, **kwargs):
    if algo == "sac":
        return SpikingSAC(
            "MlpPolicy",
            "Pendulum-v1",
            use_sde=True,
            learning_starts=20,
            batch_size=16,
            seed=0,
            device="cpu",
            policy_kwargs=dict(NET),
            **kwargs,
        )
    cls = {"ppo": SpikingPPO, "a2c": SpikingA2C}[algo]
    extra = dict(batch_size=16) if algo == "ppo" else {}
    return cls("MlpPolicy", "Pendulum-v1", use_sde=True, policy_kwargs=dict(NET), **ON_POLICY, **extra, **kwargs)


def actor_parts(model):
    """(the spiking body, the module holding log_std, a function obs -> (mean, latent_sde))."""
    if isinstance(model, SAC):
        actor = model.actor

        def dist_params(obs):
            mean, _, kw = actor.get_action_dist_params(obs)
            return mean, kw["latent_sde"]

        return actor.body, actor, dist_params
    policy = model.policy

    def dist_params(obs):
        dist = policy.get_distribution(obs)
        return dist.distribution.mean, dist._latent_sde

    return policy.mlp_extractor.policy_net, policy, dist_params


@pytest.mark.parametrize("algo", ["ppo", "a2c", "sac"])
def test_gsde_noise_comes_from_last_layer_firing_rates(algo):
    model = make(algo, sde_sample_freq=4)
    body, holder, dist_params = actor_parts(model)
    assert isinstance(holder.action_dist, StateDependentNoiseDistribution)
    # exploration matrix sized by the last hidden layer (full_std: one std per latent x action)
    assert holder.log_std.shape == (16, 1)
    obs = th.as_tensor(np.random.default_rng(0).uniform(-1, 1, (8, 3)), dtype=th.float32)
    with th.no_grad():
        _, latent = dist_params(obs)
        _, rates = body.forward_with_rates(obs)
    assert latent.shape == (8, 16)
    th.testing.assert_close(latent, rates)
    # the latent is a firing rate: multiples of 1/T in [0, 1]
    assert ((latent * 4).round() - latent * 4).abs().max() < 1e-5 and latent.min() >= 0 and latent.max() <= 1
    model.learn(64)


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_gsde_noise_is_fixed_between_resamples(algo):
    model = make(algo)
    obs = np.random.default_rng(1).uniform(-1, 1, (1, 3)).astype(np.float32)
    model.policy.reset_noise(1)
    a1, a2 = (model.predict(obs, deterministic=False)[0] for _ in range(2))
    np.testing.assert_allclose(a1, a2)  # same exploration matrix, same state: same action
    model.policy.reset_noise(1)
    a3 = model.predict(obs, deterministic=False)[0]
    assert not np.allclose(a1, a3)
    mean = model.predict(obs, deterministic=True)[0]
    assert not np.allclose(mean, a1)


@pytest.mark.parametrize("algo, full_std", [("ppo", True), ("ppo", False), ("sac", True)])
def test_gsde_options_as_in_sb3(algo, full_std):
    """log_std_init and full_std give the exploration matrix SB3 gives its ANN of the same widths
    (SB3's SAC has no full_std option: always a full matrix)."""
    options = dict(log_std_init=-1.5, **({"full_std": full_std} if algo == "ppo" else {}))
    spiking_cls, ann_cls = (SpikingPPO, PPO) if algo == "ppo" else (SpikingSAC, SAC)
    model = spiking_cls("MlpPolicy", TwoActionEnv(), use_sde=True, device="cpu", policy_kwargs=dict(NET, **options))
    ann = ann_cls("MlpPolicy", TwoActionEnv(), use_sde=True, device="cpu", policy_kwargs=dict(net_arch=[32, 16], **options))
    _, holder, _ = actor_parts(model)
    ann_holder = ann.policy if algo == "ppo" else ann.actor
    assert holder.log_std.shape == ann_holder.log_std.shape == ((16, 2) if full_std else (16, 1))
    th.testing.assert_close(holder.log_std, ann_holder.log_std)
    assert holder.action_dist.full_std == ann_holder.action_dist.full_std == full_std
    assert holder.action_dist.learn_features == ann_holder.action_dist.learn_features
    model.learn(64)


@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_gsde_save_load_and_training_updates_log_std(algo, tmp_path):
    model = make(algo, sde_sample_freq=4)
    _, holder, _ = actor_parts(model)
    before = holder.log_std.detach().clone()
    model.learn(96)
    assert not th.allclose(before, holder.log_std.detach())
    model.save(tmp_path / "m.zip")
    loaded = type(model).load(tmp_path / "m.zip", device="cpu")
    _, loaded_holder, _ = actor_parts(loaded)
    th.testing.assert_close(loaded_holder.log_std, holder.log_std)
    obs = np.zeros((1, 3), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    # the NumPy predict route and torch agree on the (clipped) deterministic mean
    body, _, _ = actor_parts(model)
    body.numpy_inference = False
    torch_action = model.predict(obs, deterministic=True)[0]
    body.numpy_inference = True
    np.testing.assert_allclose(model.predict(obs, deterministic=True)[0], torch_action, rtol=1e-5, atol=1e-6)


def test_gsde_with_the_policy_class_in_plain_ppo_and_a2c():
    for cls in (PPO, A2C):
        model = cls(SpikingActorCriticPolicy, "Pendulum-v1", use_sde=True, sde_sample_freq=2, n_steps=16, device="cpu")
        model.learn(32)


def test_energy_report_with_gsde_counts_the_ann_reference():
    """The gSDE forward (output + rates) goes through the network's __call__: the accounting sees it."""
    from sb3_spiking import energy_report

    obs = np.random.default_rng(0).uniform(-1, 1, (8, 3)).astype(np.float32)
    with_sde = energy_report(make("ppo"), obs)
    without = energy_report(SpikingPPO("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(NET), **ON_POLICY), obs)
    assert with_sde["ann_energy_j"] == without["ann_energy_j"] > 0
    assert 0 < with_sde["energy_ratio"] < 1
