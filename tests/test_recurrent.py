"""Spiking memory across env steps: StatefulSpikingMLP, SpikingRecurrentActorCriticPolicy with
sb3-contrib's RecurrentPPO, SpikingRecurrentPPO."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import (
    IdentityEnv,
    IdentityEnvBox,
    SimpleMultiObsEnv,
)

from sb3_spiking import (
    SpikingRecurrentActorCriticPolicy,
    SpikingRecurrentMultiInputActorCriticPolicy,
    SpikingRecurrentPPO,
    energy_report,
)
from sb3_spiking.snn import LIF, SpikingMLP, SpikingOptions, StatefulSpikingMLP, lif_carry, lif_reference, resolve_surrogate

FAST = dict(n_steps=32, batch_size=32, n_epochs=2, seed=0, device="cpu")
SMALL = dict(net_arch=dict(pi=[32, 16], vf=[32]), num_steps=2, lstm_hidden_size=16, beta=0.8)


class BoxObsEnv(gym.Env):
    """Vector observations, any action space, 10-step episodes (sb3-contrib's own LSTM cannot
    take SB3's MultiDiscrete/MultiBinary identity envs' observations: ``features_dim`` is a NumPy int)."""

    observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)

    def __init__(self, action_space: spaces.Space) -> None:
        self.action_space = action_space
        self.t = 0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action):
        self.t += 1
        return self.observation_space.sample(), float(self.t % 3 == 0), self.t >= 10, False, {}


ENVS = {
    "Discrete": lambda: IdentityEnv(4),
    "Box": lambda: IdentityEnvBox(),
    "MultiDiscrete": lambda: BoxObsEnv(spaces.MultiDiscrete([3, 2])),
    "MultiBinary": lambda: BoxObsEnv(spaces.MultiBinary(3)),
}


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


def _obs(space, n, seed=0):
    space.seed(seed)
    return np.stack([space.sample() for _ in range(n)]).astype(np.float32)


def _logits(policy, obs, state, starts):
    """Distribution parameters of the actor and the new state, for a batch of obs."""
    with th.no_grad():
        obs_t = th.as_tensor(obs)
        states = tuple(th.as_tensor(s, dtype=th.float32) for s in state)
        dist, new = policy.get_distribution(obs_t, states, th.as_tensor(starts, dtype=th.float32))
    return dist.distribution.logits.numpy(), tuple(s.numpy() for s in new)


# --------------------------------------------------------------------------------------------
# Engine
# --------------------------------------------------------------------------------------------
def test_lif_carry_is_the_reference_recurrence_continued():
    """S segments carried on == one from-rest run over S*T steps; a reset == starting afresh."""
    th.manual_seed(0)
    spike_fn = resolve_surrogate("atan")
    beta, thr = th.full((6,), 0.8), th.full((6,), 1.0)
    current = th.randn(4, 3, 5, 6)  # S=4 segments of T=3 steps, batch 5
    ref = lif_reference(current.flatten(0, 1), beta, thr, 12, spike_fn)
    spikes, _ = lif_carry(current, th.zeros(5, 6), None, beta, thr, spike_fn)
    assert th.equal(spikes.flatten(0, 1), ref)
    resets = th.zeros(4, 5)
    resets[2, 1] = 1.0
    spikes_r, _ = lif_carry(current, th.zeros(5, 6), resets, beta, thr, spike_fn)
    fresh = lif_reference(current[2:, :, 1].flatten(0, 1), beta, thr, 6, spike_fn)
    assert th.equal(spikes_r[2:, :, 1].flatten(0, 1), fresh)
    assert not th.equal(spikes_r[2:, :, 1], spikes[2:, :, 1])  # the carried membrane mattered
    with pytest.raises(ValueError, match="resets must be"):
        lif_carry(current, th.zeros(5, 6), th.zeros(3, 5), beta, thr, spike_fn)


def test_lif_forward_with_mem_returns_state_and_gradient_reaches_it():
    lif = LIF(8, beta=0.9)
    mem = th.zeros(2, 8, requires_grad=True)
    spikes, new = lif(th.rand(3, 2, 8) * 2, 2, mem=mem)  # constant per segment
    assert spikes.shape == (3, 2, 2, 8) and new.shape == (2, 8)
    (spikes.sum() + new.sum()).backward()
    assert mem.grad is not None and mem.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="pass mem"):
        lif(th.rand(3, 2, 8), resets=th.zeros(3, 2))


@pytest.mark.parametrize("encoder", ["direct", "population"])
def test_stateful_mlp_first_call_is_the_stateless_mlp_and_sequence_is_step_by_step(encoder):
    th.manual_seed(0)
    opts = SpikingOptions(num_steps=3, encoder=encoder, beta=0.8)
    low, high = -np.ones(4, np.float32), np.ones(4, np.float32)
    net = StatefulSpikingMLP(4, 2, [16, 8], opts, low, high)
    plain = SpikingMLP(4, 2, [16, 8], opts, low, high)
    plain.load_state_dict(net.state_dict())
    x = th.rand(5 * 3, 4) * 2 - 1  # 5 decisions of 3 streams, decision-major
    state = net.initial_state(3)
    with th.no_grad():
        out, final = net(x, state)
        assert th.allclose(net(x[:3], state)[0], plain.decoder(plain.hidden_spikes(x[:3])))
        outs, s = [], state
        for k in range(5):
            o, s = net(x[3 * k : 3 * (k + 1)], s)
            outs.append(o)
    assert th.allclose(th.cat(outs), out, atol=1e-6) and th.allclose(s, final, atol=1e-6)
    assert final.abs().sum() > 0
    with pytest.raises(ValueError, match="state must be"):
        net(x, th.zeros(3, 5))
    with pytest.raises(ValueError, match="neuron must be 'lif'"):
        StatefulSpikingMLP(4, 2, [8], SpikingOptions(neuron="relu"))


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------
def test_drop_in_and_aliases():
    a = SpikingRecurrentPPO("MlpLstmPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    b = RecurrentPPO(SpikingRecurrentActorCriticPolicy, "CartPole-v1", policy_kwargs=SMALL, **FAST)
    assert type(a.policy) is SpikingRecurrentActorCriticPolicy
    assert isinstance(a.policy.lstm_actor, StatefulSpikingMLP)
    for (name, x), (_, y) in zip(a.policy.state_dict().items(), b.policy.state_dict().items(), strict=False):
        assert th.equal(x, y), name
    # RecurrentPPO's state tensors are sized by the shared layout: actor membranes 32 + 16
    assert a._last_lstm_states.pi[0].shape == (1, 1, 48)
    assert a.rollout_buffer.hidden_states_pi.shape == (32, 1, 1, 48)
    b.learn(64)
    twin = RecurrentPPO(SpikingRecurrentActorCriticPolicy, "CartPole-v1", policy_kwargs=dict(spiking=False), **FAST)
    assert isinstance(twin.policy.lstm_actor, th.nn.LSTM)


@pytest.mark.parametrize("recurrent_synapses", [True, False])
def test_state_is_carried_and_reset_at_episode_start(recurrent_synapses):
    """Fails if the membrane were reset every step, or not reset at an episode start."""
    kwargs = dict(SMALL, recurrent_synapses=recurrent_synapses)
    model = SpikingRecurrentPPO("MlpLstmPolicy", "CartPole-v1", policy_kwargs=kwargs, **FAST)
    policy = model.policy
    assert (policy.lstm_actor.recs is not None) == recurrent_synapses
    obs = _obs(model.observation_space, 4)
    zero = tuple(np.zeros((1, 4, 48), np.float32) for _ in range(2))
    first, state = _logits(policy, obs, zero, np.zeros(4))
    assert np.abs(state[0]).sum() > 0  # membranes moved
    if recurrent_synapses:  # the last spikes, which the recurrent synapses read next step
        assert set(np.unique(state[1])) <= {0.0, 1.0} and state[1].sum() > 0
    else:
        assert np.all(state[1] == 0)  # a LIF neuron needs only its membrane
    again_rest, _ = _logits(policy, obs, zero, np.zeros(4))
    carried, _ = _logits(policy, obs, state, np.zeros(4))
    reset, _ = _logits(policy, obs, state, np.ones(4))
    np.testing.assert_array_equal(again_rest, first)
    assert not np.allclose(carried, first)  # the same observation, another memory: another decision
    np.testing.assert_allclose(reset, first, atol=1e-6)  # episode start: back to rest
    mixed, _ = _logits(policy, obs, state, np.array([1, 0, 1, 0]))
    np.testing.assert_allclose(mixed[[0, 2]], first[[0, 2]], atol=1e-6)
    np.testing.assert_allclose(mixed[[1, 3]], carried[[1, 3]], atol=1e-6)


def test_predict_state_round_trip():
    model = SpikingRecurrentPPO("MlpLstmPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    obs = _obs(model.observation_space, 3)
    a0, s0 = model.predict(obs, deterministic=True)  # state None: at rest
    assert s0[0].shape == (1, 3, 48)
    _a1, s1 = model.predict(obs, state=s0, episode_start=np.zeros(3), deterministic=True)
    assert not np.allclose(s1[0], s0[0])
    # starting again from rest gives the first step's actions and state again
    a2, s2 = model.predict(obs, state=s1, episode_start=np.ones(3), deterministic=True)
    np.testing.assert_array_equal(a2, a0)
    np.testing.assert_allclose(s2[0], s0[0], atol=1e-6)
    single, s = model.predict(obs[0], deterministic=True)  # one unbatched observation
    assert np.shape(single) == () and s[0].shape == (1, 1, 48)


@pytest.mark.parametrize("spiking_critic", [False, True])
def test_sequence_training_matches_step_by_step_rollout(spiking_critic):
    """RecurrentPPO's training pass (stored sequences from the state at their start, resets
    inside them) recomputes exactly the values and log-probabilities of the rollout steps."""
    kwargs = dict(SMALL, spiking_critic=spiking_critic)
    env = make_vec_env("CartPole-v1", n_envs=2, seed=0)
    model = SpikingRecurrentPPO("MlpLstmPolicy", env, policy_kwargs=kwargs, **dict(FAST, n_steps=64, batch_size=48))
    model.learn(128)  # a trained policy, so values and logits are not all alike
    from stable_baselines3.common.callbacks import CallbackList

    callback = CallbackList([])
    callback.init_callback(model)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=64)
    assert model.rollout_buffer.episode_starts[1:].sum() > 0  # resets inside the sequences
    model.policy.set_training_mode(True)
    n = 0
    for data in model.rollout_buffer.get(48):
        with th.no_grad():
            values, log_prob, _ = model.policy.evaluate_actions(
                data.observations, data.actions.long().flatten(), data.lstm_states, data.episode_starts
            )
        mask = data.mask > 1e-8
        th.testing.assert_close(values.flatten()[mask], data.old_values[mask], atol=1e-5, rtol=1e-5)
        th.testing.assert_close(log_prob[mask], data.old_log_prob[mask], atol=1e-5, rtol=1e-5)
        n += int(mask.sum())
    assert n == 128


def test_save_load_identical(tmp_path):
    kwargs = dict(SMALL, decoder="rate", learn_beta=True, spiking_critic=True)
    model = SpikingRecurrentPPO("MlpLstmPolicy", "Pendulum-v1", policy_kwargs=kwargs, **FAST)
    model.learn(64)
    obs = _obs(model.observation_space, 5)
    a0, s0 = model.predict(obs, deterministic=True)
    a1, s1 = model.predict(obs, state=s0, deterministic=True)
    model.save(tmp_path / "rppo")
    loaded = SpikingRecurrentPPO.load(tmp_path / "rppo", device="cpu")
    b0, t0 = loaded.predict(obs, deterministic=True)
    b1, t1 = loaded.predict(obs, state=t0, deterministic=True)
    np.testing.assert_array_equal(b0, a0)
    np.testing.assert_array_equal(b1, a1)
    np.testing.assert_array_equal(t1[0], s1[0])
    opts = loaded.policy.spiking_options
    assert (opts.decoder, opts.num_steps, opts.learn_beta, loaded.policy.spiking_critic) == ("rate", 2, True, True)
    assert isinstance(loaded.policy.lstm_critic, StatefulSpikingMLP)
    # also through sb3-contrib's own class, and with the dict the model was built with
    RecurrentPPO.load(tmp_path / "rppo", device="cpu")
    SpikingRecurrentPPO.load(tmp_path / "rppo", device="cpu", policy_kwargs=kwargs)


@pytest.mark.parametrize("space", list(ENVS))
def test_every_action_space(space):
    model = SpikingRecurrentPPO("MlpLstmPolicy", ENVS[space](), policy_kwargs=SMALL, **FAST)
    if space == "MultiBinary":
        # sb3-contrib 2.x's RecurrentPPO.train passes the buffer's int8 MultiBinary actions to the
        # Bernoulli log-prob and fails, with its own LSTM policy too: only a rollout is checked.
        from stable_baselines3.common.callbacks import CallbackList

        model._setup_learn(32, CallbackList([]))
        callback = CallbackList([])
        callback.init_callback(model)
        assert model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=32)
    else:
        model.learn(64)
    obs = _obs(model.observation_space, 6)
    actions, state = model.predict(obs, deterministic=True)
    assert actions.shape == (6, *model.action_space.shape)
    actions2, _ = model.predict(obs, state=state, deterministic=True)
    assert actions2.shape == actions.shape


def test_dict_observations():
    model = SpikingRecurrentPPO("MultiInputLstmPolicy", SimpleMultiObsEnv(), policy_kwargs=SMALL, **FAST)
    assert type(model.policy) is SpikingRecurrentMultiInputActorCriticPolicy
    model.learn(64)
    obs = model.env.reset()
    actions, state = model.predict(obs, deterministic=True)
    actions, state = model.predict(obs, state=state, episode_start=np.zeros(1), deterministic=True)
    assert actions.shape == (1,) and state[0].shape[1] == 1


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(policy_kwargs=dict(shared_lstm=True, enable_critic_lstm=False)), "shared_lstm"),
        (dict(policy_kwargs=dict(neuron="relu")), "neuron must be 'lif'"),
        (dict(policy_kwargs=dict(spiking_critic=True, enable_critic_lstm=False)), "enable_critic_lstm"),
        (dict(policy_kwargs=dict(net_arch=dict(pi=[], vf=[8]))), "at least one hidden layer"),
        (dict(policy_kwargs=dict(num_steps=0)), "num_steps"),
    ],
)
def test_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SpikingRecurrentPPO("MlpLstmPolicy", "Pendulum-v1", **{**FAST, **kwargs})


def test_energy_report_per_decision_with_state():
    model = SpikingRecurrentPPO("MlpLstmPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    obs = _obs(model.observation_space, 8)
    _, state = model.predict(obs, deterministic=True)
    rest = energy_report(model, obs)
    carried = energy_report(model, obs, state=state, episode_start=np.zeros(8))
    assert rest["n_samples"] == 8 and carried["spikes"] != rest["spikes"]
    # the same-shape ANN of the actor (an RNN: the recurrent weights too): 4*32 + 32*16 + 16*2 + 32^2 + 16^2
    assert rest["ann_macs"] == pytest.approx(4 * 32 + 32 * 16 + 16 * 2 + 32 * 32 + 16 * 16)
    assert rest["layers"]["lstm_actor.recs.0"]["synaptic_ops"] > 0  # recurrent synapses count spikes
    with pytest.raises(ValueError, match="columns"):
        energy_report(model, obs, state=tuple(s[:, :2] for s in state))
    # the LSTM twin: the LSTM's gates are counted as dense MACs, 4H(in + H), plus its MLP head
    lstm_kwargs = dict(lstm_hidden_size=16, net_arch=dict(pi=[8], vf=[8]))
    lstm = RecurrentPPO("MlpLstmPolicy", "CartPole-v1", policy_kwargs=lstm_kwargs, **FAST)
    report = energy_report(lstm, obs)
    assert report["macs"] == pytest.approx(4 * 16 * (4 + 16) + 16 * 8 + 8 * 2)
    assert report["energy_ratio"] == pytest.approx(1.0)


class RecallEnv(gym.Env):
    """Reward 1 for naming the bit shown one step *earlier* (the observation shows only the
    current one): a policy without memory earns 7.5 of the 15 available per 16-step episode."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = spaces.Discrete(2)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.before, self.shown = 0, None, int(self.np_random.integers(2))
        return np.array([2.0 * self.shown - 1], np.float32), {}

    def step(self, action):
        reward = 0.0 if self.before is None else float(int(action) == self.before)
        self.t += 1
        self.before, self.shown = self.shown, int(self.np_random.integers(2))
        return np.array([2.0 * self.shown - 1], np.float32), reward, False, self.t >= 16, {}


def test_learns_to_recall_the_previous_observation():
    """Short learning test (8k steps, ~30 s on the 2-core CI machine under load): fails if
    learning, the carried state or its gradient broke (without memory the return is 7.5)."""
    from stable_baselines3.common.evaluation import evaluate_policy

    model = SpikingRecurrentPPO(
        "MlpLstmPolicy",
        make_vec_env(RecallEnv, n_envs=4, seed=0),
        n_steps=64,
        batch_size=128,
        n_epochs=4,
        learning_rate=3e-3,
        gamma=0.9,
        policy_kwargs=dict(net_arch=dict(pi=[32], vf=[32]), lstm_hidden_size=32, num_steps=2),
        seed=0,
        device="cpu",
    )
    model.learn(8000)
    mean, _ = evaluate_policy(model, make_vec_env(RecallEnv, n_envs=1, seed=1), n_eval_episodes=20, deterministic=True)
    assert mean >= 13.5, mean


def test_cnn_lstm_policy():
    from stable_baselines3.common.envs import FakeImageEnv

    from sb3_spiking import SpikingRecurrentActorCriticCnnPolicy

    env = FakeImageEnv(screen_height=40, screen_width=40, n_channels=1, discrete=True)
    model = SpikingRecurrentPPO("CnnLstmPolicy", env, policy_kwargs=dict(num_steps=2, lstm_hidden_size=16), **FAST)
    assert type(model.policy) is SpikingRecurrentActorCriticCnnPolicy
    assert model.policy.lstm_actor.hidden_sizes == [256]  # the default hidden layer after the CNN
    model.learn(32)
    obs = model.env.reset()
    _, state = model.predict(obs, deterministic=True)
    actions, state = model.predict(obs, state=state, episode_start=np.zeros(1), deterministic=True)
    assert actions.shape == (1,) and state[0].shape == (1, 1, 256)


def test_spike_recorder_and_stats_callback_see_carried_layers():
    from sb3_spiking import SpikeStatsCallback
    from sb3_spiking.snn.recording import SpikeRecorder

    model = SpikingRecurrentPPO("MlpLstmPolicy", "CartPole-v1", policy_kwargs=SMALL, **FAST)
    obs = _obs(model.observation_space, 5)
    with SpikeRecorder(model.policy, keep_traces=True) as rec:
        model.predict(obs, deterministic=True)
    record = rec.layers["lstm_actor.lifs.0"]
    assert record.samples == 5 and record.steps == 10 and record.counts.shape == (32,)
    assert record.spikes.shape == (2, 5, 32)
    model.learn(64, callback=SpikeStatsCallback(verbose=0))


def test_gsde_noise_from_the_carried_last_layer_rates(tmp_path):
    """gSDE (RL Zoo's PendulumNoVel entry): the latent is each decision's firing rate of the actor's
    last hidden layer, computed with the carried state; rollout and training pass agree; save/load."""
    from stable_baselines3.common.callbacks import CallbackList
    from stable_baselines3.common.distributions import StateDependentNoiseDistribution

    env = make_vec_env("Pendulum-v1", n_envs=2, seed=0)
    model = SpikingRecurrentPPO("MlpLstmPolicy", env, use_sde=True, sde_sample_freq=4, policy_kwargs=SMALL,
                                **dict(FAST, n_steps=64, batch_size=48))  # fmt: skip
    policy = model.policy
    assert isinstance(policy.action_dist, StateDependentNoiseDistribution)
    assert policy.log_std.shape == (16, 1)  # [last hidden layer, actions], full_std as SB3
    # latent == the stateful network's rates, with the state carried from a first decision
    obs = th.as_tensor(_obs(model.observation_space, 3))
    _, state = model.predict(obs.numpy(), deterministic=True)
    state_t = tuple(th.as_tensor(s) for s in state)
    starts = th.zeros(3)
    with th.no_grad():
        dist, _ = policy.get_distribution(obs, state_t, starts)
        width = policy.lstm_actor.state_size
        out = policy.lstm_actor(obs, state_t[0][0, :, :width], starts[None], state_t[1][0, :, :width], with_rates=True)[0]
    th.testing.assert_close(dist._latent_sde, out[:, 1:])
    th.testing.assert_close(dist.distribution.mean, out[:, :1])
    assert (dist._latent_sde * 2 - (dist._latent_sde * 2).round()).abs().max() < 1e-6  # multiples of 1/T
    # the training pass recomputes the rollout's log-probabilities (noise matrix fixed in between)
    model.learn(128)
    callback = CallbackList([])
    callback.init_callback(model)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=64)
    model.policy.set_training_mode(True)
    for data in model.rollout_buffer.get(48):
        with th.no_grad():
            _, log_prob, _ = policy.evaluate_actions(data.observations, data.actions, data.lstm_states, data.episode_starts)
        mask = data.mask > 1e-8
        th.testing.assert_close(log_prob[mask], data.old_log_prob[mask], atol=1e-4, rtol=1e-4)
    model.save(tmp_path / "m.zip")
    loaded = SpikingRecurrentPPO.load(tmp_path / "m.zip", device="cpu")
    th.testing.assert_close(loaded.policy.log_std, policy.log_std)
    a1, s1 = model.predict(obs.numpy(), state=state, episode_start=np.zeros(3), deterministic=True)
    a2, s2 = loaded.predict(obs.numpy(), state=state, episode_start=np.zeros(3), deterministic=True)
    np.testing.assert_allclose(a1, a2)
    for x, y in zip(s1, s2, strict=True):
        np.testing.assert_allclose(x, y)
