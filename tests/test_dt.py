"""SpikingDecisionTransformer / DecisionTransformer: contexts, training, save/load, energy, errors."""

from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.logger import configure

from sb3_spiking import DecisionTransformer, SpikeStatsCallback, SpikingDecisionTransformer, energy_report
from sb3_spiking.dt import DTContext, evaluate_with_rewards
from sb3_spiking.dt.transformer import DecisionTransformerNet
from sb3_spiking.offline import collect_dataset
from sb3_spiking.snn import LIF, OpCounter, SpikingOptions

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

#: tiny models: the default run of this file must stay fast
TINY = dict(hidden_dim=32, n_layers=1, reward_arch=[16])
VARIANTS = {
    "ann": dict(spiking=False),
    "softmax": dict(num_steps=4),
    "spike_driven": dict(num_steps=4, attention="spike_driven"),
}


class ScriptedCartPole(PPO):
    """A hand-written CartPole controller (scores 500) with the SB3 interface collect_dataset needs."""

    def predict(self, observation, state=None, episode_start=None, deterministic=False):
        obs = np.asarray(observation).reshape(-1, 4)
        return (obs @ np.array([0.1, 0.5, 1.0, 1.0]) > 0).astype(np.int64).squeeze(), state


class Bandit(gym.Env):
    """Five steps per episode; action 1 earns 1, action 0 earns 0 (for the REINFORCE test)."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"]}
    observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = spaces.Discrete(2)

    def __init__(self, render_mode=None):
        self.render_mode = render_mode

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.uniform(-1, 1, 2).astype(np.float32), {}

    def step(self, action):
        self.t += 1
        obs = self.np_random.uniform(-1, 1, 2).astype(np.float32)
        return obs, float(action), False, self.t >= 5, {}


gym.register("DTBandit-v0", entry_point=f"{__name__}:Bandit")


class DictObs(gym.Env):
    observation_space = spaces.Dict({"x": spaces.Box(-1.0, 1.0, (2,), np.float32)})
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        return {"x": np.zeros(2, np.float32)}, {}

    def step(self, action):
        return {"x": np.zeros(2, np.float32)}, 0.0, True, False, {}


@pytest.fixture(scope="module")
def datasets_root(tmp_path_factory, one_thread):
    root = tmp_path_factory.mktemp("minari")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINARI_DATASETS_PATH", str(root))
        scripted = ScriptedCartPole("MlpPolicy", "CartPole-v1", device="cpu")
        collect_dataset(scripted, "CartPole-v1", 6000, "cartpole/scripted-v0", seed=0, random_prob=0.3)
        pendulum = PPO("MlpPolicy", "Pendulum-v1", seed=0, device="cpu", policy_kwargs=dict(net_arch=[8]))
        collect_dataset(pendulum, "Pendulum-v1", 600, "pendulum/tiny-v0", seed=0)
        bandit = PPO("MlpPolicy", "DTBandit-v0", seed=0, device="cpu", policy_kwargs=dict(net_arch=[8]))
        collect_dataset(bandit, "DTBandit-v0", 200, "bandit/random-v0", seed=0, random_prob=1.0)
        yield root


@pytest.fixture(autouse=True)
def minari_env(datasets_root, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(datasets_root))


def _model(env="CartPole-v1", dataset="cartpole/scripted-v0", variant="softmax", **kwargs):
    policy_kwargs = {**TINY, **VARIANTS[variant], **kwargs.pop("policy_kwargs", {})}
    return SpikingDecisionTransformer(env, dataset=dataset, policy_kwargs=policy_kwargs, seed=0, device="cpu", **kwargs)


def _observations(n, seed=0, env_id="CartPole-v1"):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    out = []
    for _ in range(n):
        out.append(obs)
        obs, *_ = env.step(env.action_space.sample())
    return np.asarray(out, np.float32)


# -- context windows ----------------------------------------------------------------------------
def test_context_window_grows_slides_and_resets_on_episode_start():
    model = _model(context_len=4, target_return=300.0)
    obs = _observations(7)
    state = None
    for i in range(6):
        _, state = model.predict(obs[i][None], state, np.array([i == 0]), rewards=np.array([1.0]))
        assert state.lengths[0] == min(i + 1, 4)
    np.testing.assert_array_equal(state.timesteps[0], [2, 3, 4, 5])
    np.testing.assert_allclose(state.returns_to_go[0], [298.0, 297.0, 296.0, 295.0])  # exact: rewards given
    np.testing.assert_array_equal(state.observations[0, -1], obs[5])
    # a new episode: the window restarts from the target return, at step 0, and acts as a fresh one
    action, reset = model.predict(obs[6][None], state, np.array([True]))
    assert reset.lengths[0] == 1 and reset.timesteps[0, -1] == 0 and reset.returns_to_go[0, -1] == 300.0
    fresh, _ = model.predict(obs[6][None])
    np.testing.assert_array_equal(action, fresh)


def test_return_to_go_uses_the_reward_model_when_rewards_are_not_given():
    model = _model(context_len=3, target_return=100.0)
    obs = _observations(2)
    _, state = model.predict(obs[0][None])
    _, state = model.predict(obs[1][None], state, np.array([False]))
    with th.no_grad():
        expected = model.policy.predict_reward(
            th.as_tensor(obs[:1]), th.as_tensor(state.actions[:, -2]), th.as_tensor(obs[1:2])
        )
    assert state.returns_to_go[0, -1] == pytest.approx(100.0 - float(expected), abs=1e-4)


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_batch_of_envs_keep_separate_contexts(variant):
    """Three episodes run side by side (starting at different times) act exactly as each alone."""
    model = _model("Pendulum-v1", "pendulum/tiny-v0", variant, context_len=5)
    model.learn(5)
    obs = np.stack([_observations(9, seed=s, env_id="Pendulum-v1") for s in range(3)], axis=1)  # [9, 3, 3]
    starts = np.zeros((9, 3), bool)
    starts[0, :] = starts[3, 1] = starts[6, 2] = True
    rewards = np.random.default_rng(0).normal(size=(9, 3)).astype(np.float32)
    batched, state = [], None
    for t in range(9):
        actions, state = model.predict(obs[t], state, starts[t], rewards=rewards[t])
        batched.append(actions)
    for i in range(3):
        alone, single = [], None
        for t in range(9):
            actions, single = model.predict(obs[t, i : i + 1], single, starts[t, i : i + 1], rewards=rewards[t, i : i + 1])
            alone.append(actions[0])
        np.testing.assert_allclose(np.asarray(batched)[:, i], np.asarray(alone), atol=1e-5)


def test_single_observation_and_sb3_evaluate_policy_with_vec_env():
    model = _model()
    action, state = model.predict(_observations(1)[0])
    assert np.ndim(action) == 0 and isinstance(state, DTContext) and state.observations.shape == (1, 20, 4)
    mean, _ = evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=3, seed=0), n_eval_episodes=3)
    assert np.isfinite(mean)
    mean, _ = evaluate_with_rewards(model, make_vec_env("CartPole-v1", n_envs=2, seed=0), n_eval_episodes=3)
    assert np.isfinite(mean)


def test_last_step_output_and_padding_match_the_full_computation():
    th.manual_seed(0)
    for options, attention in ((None, "softmax"), (SpikingOptions(), "softmax"), (SpikingOptions(), "spike_driven")):
        net = DecisionTransformerNet(4, 3, True, 50, 16, 2, 2, 0.0, options, attention).eval()
        s, a, r = th.randn(2, 5, 4), th.randint(0, 3, (2, 5)), th.randn(2, 5)
        t = th.arange(5).repeat(2, 1)
        valid = th.ones(2, 5, dtype=th.bool)
        valid[0, :2] = False
        with th.no_grad():
            full, last = net(s, a, r, t, valid)[:, -1], net(s, a, r, t, valid, True)
            short = net(s[:1, 2:], a[:1, 2:], r[:1, 2:], t[:1, 2:], None, True)
        th.testing.assert_close(full, last, atol=1e-5, rtol=0)
        th.testing.assert_close(short, last[:1], atol=1e-5, rtol=0)  # left padding is invisible


# -- training -----------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("env_id,dataset", [("CartPole-v1", "cartpole/scripted-v0"), ("Pendulum-v1", "pendulum/tiny-v0")])
def test_spiking_and_ann_variants_train_a_few_steps(variant, env_id, dataset):
    model = _model(env_id, dataset, variant, context_len=5, batch_size=16)
    assert model.policy.spiking == (variant != "ann")
    lifs = [m for m in model.policy.modules() if isinstance(m, LIF)]
    assert len(lifs) == (0 if variant == "ann" else (3 if variant == "spike_driven" else 2))
    before = [p.detach().clone() for p in model.policy.net.parameters()]
    model.learn(30)
    assert model.num_timesteps == 30 and model._n_updates == 30
    assert all(not th.equal(a, b) for a, b in zip(before, model.policy.net.parameters(), strict=False) if b.requires_grad)
    # the action loss on fixed windows went down
    idx, valid = model._data.sample_windows(np.random.default_rng(1), 64, 5)
    b = model._batch(idx, valid)

    def loss():
        with th.no_grad():
            out = model.policy.context_forward(b["observations"], b["actions"], b["returns_to_go"], b["timesteps"], b["valid"])
            out, target = out[b["valid"]], b["actions"][b["valid"]]
            return float(
                th.nn.functional.cross_entropy(out, target) if model.policy.discrete else ((th.tanh(out) - target) ** 2).mean()
            )

    model.policy.set_training_mode(False)
    trained = loss()
    fresh = _model(env_id, dataset, variant, context_len=5, batch_size=16)
    model.policy.load_state_dict(fresh.policy.state_dict())
    assert trained < loss()


def test_decision_transformer_is_the_ann_twin_and_defaults_follow_snn_dt():
    model = DecisionTransformer("CartPole-v1", dataset="cartpole/scripted-v0")
    assert not model.policy.spiking and model.policy_kwargs["spiking"] is False
    assert not any(isinstance(m, LIF) for m in model.policy.modules())
    spiking = SpikingDecisionTransformer("CartPole-v1", dataset="cartpole/scripted-v0")
    policy = spiking.policy
    assert (spiking.context_len, policy.hidden_dim, policy.n_layers, policy.n_heads) == (20, 128, 2, 1)
    assert policy.spiking_options.num_steps == 5 and policy.attention == "softmax"
    assert spiking.target_return == 500.0  # the best episode of the dataset
    assert policy.max_ep_len == 500  # CartPole-v1's time limit
    assert spiking.replay_buffer.size() == 6000


def test_save_load_identical_actions_and_continue(tmp_path):
    model = _model(variant="spike_driven", target_return=250.0, policy_kwargs=dict(num_steps=3, beta=0.8))
    model.learn(20)
    obs = _observations(12)
    starts = np.zeros(12, bool)
    starts[[0, 7]] = True

    def rollout(m):
        state, out = None, []
        for i in range(12):
            action, state = m.predict(obs[i][None], state, starts[i : i + 1])
            out.append(action)
        return np.asarray(out), state.returns_to_go

    expected, expected_rtg = rollout(model)
    model.save(tmp_path / "dt")
    loaded = SpikingDecisionTransformer.load(tmp_path / "dt", device="cpu")
    assert loaded.dataset_id == "cartpole/scripted-v0" and loaded.target_return == 250.0
    assert loaded.policy.attention == "spike_driven" and loaded.policy.spiking_options.beta == 0.8
    actions, rtg = rollout(loaded)
    np.testing.assert_array_equal(actions, expected)
    np.testing.assert_array_equal(rtg, expected_rtg)
    saved, restored = model.policy.optimizer.state_dict()["state"], loaded.policy.optimizer.state_dict()["state"]
    assert saved.keys() == restored.keys() and all(th.equal(saved[k]["exp_avg"], restored[k]["exp_avg"]) for k in saved)
    assert SpikingDecisionTransformer.load(tmp_path / "dt", target_return=120.0).target_return == 120.0
    loaded.learn(5, reset_num_timesteps=False)  # reloads the dataset by id
    assert loaded.num_timesteps == 25


@pytest.mark.parametrize("algo", [SpikingDecisionTransformer, DecisionTransformer])
def test_load_accepts_the_policy_kwargs_the_model_was_built_with(algo, tmp_path):
    model = algo("CartPole-v1", dataset="cartpole/scripted-v0", policy_kwargs=dict(TINY), seed=0, device="cpu")
    model.save(tmp_path / "dt")
    loaded = algo.load(tmp_path / "dt", policy_kwargs=dict(TINY), device="cpu")
    assert loaded.policy_kwargs == model.policy_kwargs
    with pytest.raises(ValueError, match="do not equal the stored"):
        algo.load(tmp_path / "dt", policy_kwargs=dict(TINY, hidden_dim=16))


# -- measurement --------------------------------------------------------------------------------
def test_energy_report_context_report_and_spike_stats_callback(tmp_path):
    ann, snn = _model(variant="ann"), _model(variant="softmax")
    obs = ann.replay_buffer.observations[:8, 0]
    assert energy_report(ann, obs)["energy_ratio"] == pytest.approx(1.0)  # the ANN is its own reference
    assert ann.context_energy_report(16)["energy_ratio"] == pytest.approx(1.0)
    report = snn.context_energy_report(16)
    assert (
        report["spikes"] > 0 and report["synaptic_ops"] > 0 and report["ann_macs"] == ann.context_energy_report(16)["ann_macs"]
    )
    assert report["energy_ratio"] < 1.0
    snn.set_logger(configure(str(tmp_path), ["csv"]))
    callback = SpikeStatsCallback(log_freq=5, n_samples=8)
    snn.learn(10, callback=callback, log_interval=5)
    assert callback.last_report is not None and callback.last_report["spikes"] > 0
    assert "spiking/firing_rate" in (tmp_path / "progress.csv").read_text()


def test_spike_driven_attention_counts_accumulates():
    net = DecisionTransformerNet(3, 2, True, 10, 8, 1, 1, 0.0, SpikingOptions(num_steps=2), "spike_driven").eval()
    core = net.blocks[0].core
    q = th.tensor([[1.0, 1.0], [0.0, 1.0]]).view(1, 1, 1, 2, 2)  # T=1, B=1, H=1, N=2, dh=2
    k = th.tensor([[1.0, 0.0], [1.0, 1.0]]).view(1, 1, 1, 2, 2)
    v = th.tensor([[1.0, 1.0], [0.0, 1.0]]).view(1, 1, 1, 2, 2)
    w = th.tensor([[1.0, 0.0], [0.5, 0.5]]).view(1, 1, 2, 2)  # causal, averaged over visible keys
    # Q K^T = [[1, 2], [0, 1]]; visible: (0,0)=1, (1,0)=0, (1,1)=1 -> 2 coincidences;
    # A V: query 0 adds key 0's 2 value spikes, query 1 adds key 1's 1 -> 3 accumulates
    with OpCounter(core) as counter:
        out = core(q, k, v, w)
    th.testing.assert_close(out.view(2, 2), th.tensor([[1.0, 1.0], [0.0, 0.5]]))
    assert counter.summary(1)["synaptic_ops"] == 5


# -- fine-tuning --------------------------------------------------------------------------------
def test_fine_tune_reinforce_learns_the_rewarded_action():
    model = SpikingDecisionTransformer(
        "DTBandit-v0", dataset="bandit/random-v0", context_len=5, policy_kwargs={**TINY, "num_steps": 4}, seed=0, device="cpu"
    )  # untrained: acts at about chance
    obs = np.random.default_rng(0).uniform(-1, 1, (256, 2)).astype(np.float32)

    def p_rewarded():
        with th.no_grad():
            model.policy.set_training_mode(False)
            return float(
                th.softmax(
                    model.policy.context_forward(
                        th.as_tensor(obs[:, None]),
                        th.zeros(256, 1, dtype=th.long),
                        th.full((256, 1), model.target_return),
                        th.zeros(256, 1),
                    )[:, 0],
                    -1,
                )[:, 1].mean()
            )

    before = p_rewarded()
    model.fine_tune(make_vec_env("DTBandit-v0", n_envs=4, seed=0), 1200, learning_rate=3e-3, episodes_per_update=8)
    assert model.num_timesteps >= 1200
    assert p_rewarded() > max(before + 0.2, 0.75), f"P(rewarded action) {before:.2f} -> {p_rewarded():.2f}"


# -- bad input ----------------------------------------------------------------------------------
def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="context_len must be an int >= 1"):
        _model(context_len=0)
    with pytest.raises(ValueError, match="context_len"):
        _model(context_len=2.5)
    for bad in (float("nan"), float("inf"), "500"):
        with pytest.raises(ValueError, match="target_return must be a finite number"):
            _model(target_return=bad)
    model = _model()
    with pytest.raises(ValueError, match="target_return must be a finite number"):
        model.target_return = float("-inf")
    with pytest.raises(ValueError, match="pass dataset="):
        SpikingDecisionTransformer("CartPole-v1")
    with pytest.raises(FileNotFoundError, match="No local Minari dataset 'cartpole/nope-v0'"):
        SpikingDecisionTransformer("CartPole-v1", dataset="cartpole/nope-v0")
    with pytest.raises(ValueError, match="observation space of the dataset 'cartpole/scripted-v0' does not match"):
        SpikingDecisionTransformer("Acrobot-v1", dataset="cartpole/scripted-v0")
    with pytest.raises(ValueError, match="action space of the dataset 'cartpole/scripted-v0' does not match"):
        SpikingDecisionTransformer(_cartpole_three_actions(), dataset="cartpole/scripted-v0")
    with pytest.raises(ValueError, match="does not support Dict observation spaces"):
        SpikingDecisionTransformer(DictObs(), dataset="cartpole/scripted-v0")
    with pytest.raises(ValueError, match="Unknown attention='linear'; allowed values: softmax, spike_driven"):
        _model(policy_kwargs=dict(attention="linear"))
    with pytest.raises(ValueError, match="encoder='rate' does not apply to the decision transformer"):
        _model(policy_kwargs=dict(encoder="rate"))
    with pytest.raises(ValueError, match="num_steps must be an int >= 1"):
        _model(policy_kwargs=dict(num_steps=0))
    with pytest.raises(TypeError, match="unknown policy_kwargs"):
        _model(policy_kwargs=dict(num_step=4))
    with pytest.raises(ValueError, match=r"hidden_dim .* divisible by n_heads"):
        _model(policy_kwargs=dict(hidden_dim=30, n_heads=4))
    _, state = model.predict(_observations(2))
    with pytest.raises(ValueError, match="pass state=None to start new episodes"):
        model.predict(_observations(3), state)
    with pytest.raises(ValueError, match=r"Observation spaces do not match|observation space"):
        model.fine_tune("Acrobot-v1", 10)


def _cartpole_three_actions():
    env = gym.make("CartPole-v1")
    env.action_space = spaces.Discrete(3)
    return env


# -- learning -----------------------------------------------------------------------------------
def test_learns_cartpole_from_scripted_data_short():
    # 6000 transitions of a scripted controller with 30% random actions. Measured: untrained
    # 24 / 24 / 12 (seeds 0/1/2), 100 steps 380 / 282 / 198, 300 steps 500 / 500 / 500.
    model = SpikingDecisionTransformer(
        "CartPole-v1",
        dataset="cartpole/scripted-v0",
        context_len=10,
        batch_size=32,
        policy_kwargs=dict(hidden_dim=32, n_layers=1, num_steps=4),
        seed=0,
        device="cpu",
    )
    model.learn(300)
    mean, _ = evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=5, seed=1000), n_eval_episodes=5)
    assert mean > 250, f"SpikingDecisionTransformer did not learn CartPole-v1: {mean:.0f}"


@pytest.mark.slow
def test_learns_cartpole_from_ppo_data_default_size(tmp_path, monkeypatch, cartpole_ppo):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    behaviour = cartpole_ppo()
    behaviour.learn(100_000)
    collect_dataset(behaviour, "CartPole-v1", 20_000, "cartpole/ppo-v0", seed=0, random_prob=0.3)
    model = SpikingDecisionTransformer("CartPole-v1", dataset="cartpole/ppo-v0", seed=0, device="cpu")
    model.learn(400)
    mean, _ = evaluate_policy(model, make_vec_env("CartPole-v1", n_envs=5, seed=1000), n_eval_episodes=10)
    assert mean > 400
