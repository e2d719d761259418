"""NIR export: the graph read back with ``nir.read`` reproduces ``predict`` (in our NumPy reader and
in SpikingJelly's NIR importer, a simulator that is neither this package nor snnTorch), the
metadata describes the run, and what NIR cannot express is refused with a clear error."""

import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.envs import FakeImageEnv

nir = pytest.importorskip("nir")

from sb3_spiking import DSQN, SpikingActorCriticPolicy, SpikingDDPG, SpikingSAC, SpikingTD3  # noqa: E402
from sb3_spiking.export import DT, read_metadata, simulate, to_nir  # noqa: E402
from sb3_spiking.snn import LIF  # noqa: E402
from sb3_spiking.snn.network import numpy_inference_off  # noqa: E402

ZERO = dict(reset_mechanism="zero")
FAST = dict(learning_starts=100, batch_size=32, buffer_size=2000, seed=0, device="cpu")


def _rollout_observations(env_id, n, seed=0):
    """``n`` observations of random play (what the policy meets, unlike space samples)."""
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    out = []
    while len(out) < n:
        out.append(obs)
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()
    return np.stack(out).astype(np.float32)


def _round_trip(graph, tmp_path, name="policy.nir"):
    path = tmp_path / name
    nir.write(path, graph)
    return nir.read(path)


def _net_outputs(model, obs):
    """The acting network's raw outputs in torch (Q-values / pre-tanh actions)."""
    obs_t, _ = model.policy.obs_to_tensor(obs)
    with th.no_grad():
        if isinstance(model, DSQN):
            return model.q_net(obs_t).numpy()
        return model.actor.mu[0](model.actor.extract_features(obs_t, model.actor.features_extractor)).numpy()


@pytest.fixture(scope="module")
def dsqn_cartpole():
    """Acceptance: a DSQN MlpPolicy (reset "zero", T=5) trained briefly on CartPole."""
    model = DSQN(
        "MlpPolicy",
        "CartPole-v1",
        policy_kwargs=dict(net_arch=[64, 64], num_steps=5, **ZERO),
        train_freq=4,
        **FAST,
    )
    model.learn(1500)
    return model


@pytest.fixture(scope="module")
def td3_pendulum():
    """Acceptance: a SpikingTD3 actor (reset "zero") trained briefly on Pendulum."""
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[64, 64], num_steps=5, **ZERO), **FAST)
    model.learn(400)
    return model


def test_dsqn_graph_alone_reproduces_predict(dsqn_cartpole, tmp_path):
    model = dsqn_cartpole
    graph = _round_trip(to_nir(model), tmp_path)
    meta = read_metadata(graph)
    assert meta["num_steps"] == 5 and meta["dt"] == DT and meta["readout"] == "max"
    assert meta["postprocess"]["type"] == "argmax" and meta["exact"] is True
    assert [type(graph.nodes[n]).__name__ for n in ("fc_0", "lif_0", "decoder_fc", "decoder_li")] == [
        "Affine",
        "LIF",
        "Affine",
        "LI",
    ]
    obs = _rollout_observations("CartPole-v1", 500)
    actions, _ = model.predict(obs, deterministic=True)
    result = simulate(graph, obs)
    agreement = float(np.mean(result.actions == actions))
    assert agreement >= 0.99, agreement
    np.testing.assert_allclose(result.outputs, _net_outputs(model, obs), atol=1e-4, rtol=0)
    # one observation in, one action out, as predict
    single, _ = model.predict(obs[0], deterministic=True)
    assert simulate(graph, obs[0]).actions == single


def test_td3_actor_graph_alone_reproduces_predict(td3_pendulum, tmp_path):
    model = td3_pendulum
    graph = _round_trip(to_nir(model), tmp_path)
    meta = read_metadata(graph)
    assert meta["postprocess"]["type"] == "box" and meta["postprocess"]["squash"] == "tanh"
    np.testing.assert_array_equal(meta["postprocess"]["low"], [-2.0])
    obs = _rollout_observations("Pendulum-v1", 500)
    actions, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(simulate(graph, obs).actions, actions, atol=1e-4, rtol=0)


def test_neuron_parameters_follow_snntorch_mapping(td3_pendulum):
    graph = to_nir(td3_pendulum)
    lif = graph.nodes["lif_0"]
    beta = td3_pendulum.actor.mu[0].lifs[0].beta.numpy()
    assert lif.tau.shape == (64,)  # per neuron, never a scalar
    np.testing.assert_allclose(lif.tau, DT / (1 - beta))
    np.testing.assert_allclose(lif.r, 1 / (1 - beta))
    np.testing.assert_array_equal(lif.v_reset, 0.0)
    np.testing.assert_array_equal(lif.v_leak, 0.0)
    np.testing.assert_array_equal(lif.v_threshold, 1.0)


def test_subtract_reset_model_gets_a_clear_error():
    model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **FAST)
    with pytest.raises(ValueError, match=r"reset_mechanism.*allow_reset_mismatch|allow_reset_mismatch.*reset"):
        to_nir(model)
    with pytest.raises(ValueError, match="reset_mechanism='zero'"):
        to_nir(model)


def test_saved_model_stores_its_reset_mechanism(tmp_path):
    """A saved agent records its resolved reset mechanism, so it reloads with the one it was trained
    with whatever the default is (and exports, or is refused, accordingly)."""
    from sb3_spiking.common.options import _stored_data

    DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **FAST).save(tmp_path / "default.zip")
    assert _stored_data(tmp_path / "default.zip", None)["policy_kwargs"]["reset_mechanism"] == "subtract"
    with pytest.raises(ValueError, match="reset_mechanism"):
        to_nir(DSQN.load(tmp_path / "default.zip"))


def test_allow_reset_mismatch_reports_measured_agreement(tmp_path):
    model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[32], num_steps=8), **FAST)
    obs = _rollout_observations("CartPole-v1", 200)
    with pytest.warns(UserWarning, match="agrees with predict"):
        graph = to_nir(model, allow_reset_mismatch=True, observations=obs)
    meta = read_metadata(_round_trip(graph, tmp_path))
    report = meta["reset_mismatch"]
    assert meta["exact"] is False and meta["reset_mechanism"] == "subtract"
    assert report["n_observations"] == 200 and 0.0 <= report["action_agreement"] <= 1.0
    actions, _ = model.predict(obs, deterministic=True)
    assert report["action_agreement"] == pytest.approx(np.mean(simulate(graph, obs).actions == actions))


def test_cnn_dsqn_exports_and_reproduces_predict(tmp_path):
    env = FakeImageEnv(screen_height=40, screen_width=40, n_channels=2, discrete=True)
    model = DSQN("CnnPolicy", env, policy_kwargs=dict(num_steps=3, **ZERO), **dict(FAST, buffer_size=200))
    graph = _round_trip(to_nir(model), tmp_path)
    meta = read_metadata(graph)
    assert meta["preprocess"]["scale"] == pytest.approx(1 / 255) and meta["preprocess"]["flatten"] is False
    assert type(graph.nodes["conv_0"]).__name__ == "Conv2d" and type(graph.nodes["flatten"]).__name__ == "Flatten"
    assert graph.nodes["conv_lif_0"].tau.shape == (32, 9, 9)  # per-channel parameters expanded to (C, H, W)
    model.observation_space.seed(0)
    obs = np.stack([model.observation_space.sample() for _ in range(16)])
    actions, _ = model.predict(obs, deterministic=True)
    result = simulate(graph, obs)
    np.testing.assert_array_equal(result.actions, actions)
    np.testing.assert_allclose(result.outputs, _net_outputs(model, obs), atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "options",
    [
        dict(decoder="membrane", membrane_readout="mean"),
        dict(decoder="membrane", membrane_readout="last"),
        dict(decoder="rate"),
        dict(decoder="population"),
        dict(decoder="spike_count", beta=1.0),  # the readout of converted DQNs, IF neurons
        dict(learn_beta=True, learn_threshold=True, beta=0.7),
    ],
    ids=lambda o: "-".join(str(v) for v in o.values()),
)
def test_decoders_and_neuron_options_export(options, tmp_path):
    policy_kwargs = dict(net_arch=[32, 32], num_steps=6, **ZERO, **options)
    model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=policy_kwargs, **FAST)
    if options.get("learn_beta"):  # per-neuron values, as training leaves them
        with th.no_grad():
            for lif in model.q_net.q_net.lifs:
                lif.beta.uniform_(0.3, 0.95)
                lif.threshold.uniform_(0.5, 1.5)
    graph = _round_trip(to_nir(model), tmp_path)
    obs = _rollout_observations("CartPole-v1", 200)
    actions, _ = model.predict(obs, deterministic=True)
    result = simulate(graph, obs)
    assert np.mean(result.actions == actions) >= 0.99
    np.testing.assert_allclose(result.outputs, _net_outputs(model, obs), atol=1e-4, rtol=0)
    if options.get("beta") == 1.0:
        assert type(graph.nodes["lif_0"]).__name__ == "IF"


def test_converted_dqn_exports_with_reset_mismatch(tmp_path):
    from stable_baselines3 import DQN

    from sb3_spiking.conversion import convert_dqn

    dqn = DQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[32, 32]), seed=0)
    frames = _rollout_observations("CartPole-v1", 300)
    snn = convert_dqn(dqn, frames, num_steps=20)
    with pytest.raises(ValueError, match="reset_mechanism"):  # conversion's IF neurons reset by subtraction
        to_nir(snn)
    with pytest.warns(UserWarning):
        graph = _round_trip(to_nir(snn, allow_reset_mismatch=True, observations=frames), tmp_path)
    meta = read_metadata(graph)
    assert meta["readout"] == "spike_count_plus_membrane" and meta["readout_node"] == "decoder_lif"
    assert type(graph.nodes["lif_0"]).__name__ == "IF" and type(graph.nodes["decoder_lif"]).__name__ == "IF"
    assert 0.0 <= meta["reset_mismatch"]["action_agreement"] <= 1.0


@pytest.mark.parametrize("algo", ["sac", "ddpg", "ppo_box", "ppo_discrete"])
def test_other_actors_export(algo, tmp_path):
    kwargs = dict(net_arch=[32], num_steps=4, **ZERO)
    if algo == "sac":
        model = SpikingSAC("MlpPolicy", "Pendulum-v1", policy_kwargs=kwargs, **FAST)
    elif algo == "ddpg":
        model = SpikingDDPG("MlpPolicy", "Pendulum-v1", policy_kwargs=kwargs, **FAST)
    else:
        env_id = "Pendulum-v1" if algo == "ppo_box" else "CartPole-v1"
        # the actor-critic policies default to the learnable decoder, which NIR cannot express
        policy_kwargs = dict(kwargs, net_arch=dict(pi=[32], vf=[32]), decoder="membrane")
        model = PPO(SpikingActorCriticPolicy, env_id, policy_kwargs=policy_kwargs, seed=0)
    env_id = "CartPole-v1" if algo == "ppo_discrete" else "Pendulum-v1"
    graph = _round_trip(to_nir(model), tmp_path)
    obs = _rollout_observations(env_id, 100)
    actions, _ = model.predict(obs, deterministic=True)
    got = simulate(graph, obs).actions
    if env_id == "CartPole-v1":
        np.testing.assert_array_equal(got, actions)
    else:
        np.testing.assert_allclose(got, actions, atol=1e-5, rtol=0)
    if algo == "sac":  # the mean half only
        assert graph.nodes["decoder_fc"].weight.shape[0] == 1


@pytest.mark.parametrize(
    "options, match",
    [
        (dict(encoder="rate"), "encoder='rate'.*encoder='direct'"),
        (dict(encoder="learnable"), "encoder='learnable'.*encoder='direct'"),
        (dict(encoder="population"), "encoder='population'.*encoder='direct'"),
        (dict(decoder="learnable"), "decoder='learnable'.*decoder='membrane'"),
        (dict(neuron="relu"), "neuron='relu'.*neuron='lif'"),
        (dict(spiking=False), "ANN twin.*NIR export supports"),
    ],
)
def test_unsupported_options_raise_clear_errors(options, match):
    model = DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16], **ZERO, **options), **FAST)
    with pytest.raises(ValueError, match=match):
        to_nir(model)


def test_default_actor_critic_policy_names_the_decoder_to_use():
    model = PPO(SpikingActorCriticPolicy, "CartPole-v1", policy_kwargs=dict(net_arch=[16], **ZERO), seed=0)
    with pytest.raises(ValueError, match=r"decoder='learnable'.*decoder='membrane'"):
        to_nir(model)


def test_ann_extractor_and_unknown_models_raise():
    env = FakeImageEnv(screen_height=40, screen_width=40, n_channels=1, discrete=False)
    model = SpikingSAC("CnnPolicy", env, policy_kwargs=dict(ZERO), **dict(FAST, buffer_size=10))
    with pytest.raises(ValueError, match=r"NatureCNN.*ANN features extractor"):
        to_nir(model)
    with pytest.raises(ValueError, match="NIR export supports"):
        to_nir(PPO("MlpPolicy", "CartPole-v1"))


def test_vec_normalize_statistics_go_into_preprocess(td3_pendulum):
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    venv = VecNormalize(make_vec_env("Pendulum-v1", n_envs=1, seed=0))
    venv.reset()
    for _ in range(50):
        venv.step(np.array([venv.action_space.sample()]))
    graph = to_nir(td3_pendulum, vec_normalize=venv)
    obs = _rollout_observations("Pendulum-v1", 50)
    normalized = venv.normalize_obs(obs)
    expected, _ = td3_pendulum.predict(normalized, deterministic=True)
    np.testing.assert_allclose(simulate(graph, obs).actions, expected, atol=1e-4, rtol=0)


def test_command_line_exports_saved_model(dsqn_cartpole, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.getcwd(), os.environ.get("PYTHONPATH", "")])}
    model_path = tmp_path / "dsqn.zip"
    dsqn_cartpole.save(model_path)
    out = tmp_path / "a.nir"
    cmd = [sys.executable, "-m", "sb3_spiking.export", "--model", str(model_path), "--algo", "dsqn", "--out", str(out)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "same action on 100.0%" in run.stdout and "exact=True" in run.stdout  # the saved model kept "zero"
    assert read_metadata(nir.read(out))["num_steps"] == 5


def test_command_line_zoo_folder_and_error(dsqn_cartpole, tmp_path, capsys):
    from sb3_spiking.export.__main__ import main

    # RL Zoo layout: <folder>/<algo>/<env>_<id>/<env>.zip, the latest id by default (as enjoy)
    for run_id in (1, 2):
        run_dir = tmp_path / "logs" / "dsqn" / f"CartPole-v1_{run_id}"
        run_dir.mkdir(parents=True)
        dsqn_cartpole.save(run_dir / "CartPole-v1.zip")
    out = tmp_path / "b.nir"
    assert main(["--algo", "dsqn", "--env", "CartPole-v1", "-f", str(tmp_path / "logs"), "--out", str(out)]) == 0
    assert "CartPole-v1_2" in capsys.readouterr().out and out.exists()
    # a default (subtract) model: the clear error, exit code 2, nothing written
    DSQN("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[16]), **FAST).save(tmp_path / "default.zip")
    bad = tmp_path / "c.nir"
    assert main(["--model", str(tmp_path / "default.zip"), "--algo", "dsqn", "--out", str(bad)]) == 2
    assert "reset_mechanism" in capsys.readouterr().err and not bad.exists()
    with pytest.warns(UserWarning, match="agrees with predict"):
        args = ["--model", str(tmp_path / "default.zip"), "--algo", "dsqn", "--out", str(bad), "--allow-reset-mismatch"]
        assert main(args) == 0
    assert "action agreement with predict" in capsys.readouterr().out


# -- an independent simulator: SpikingJelly's NIR importer ---------------------------------------
def _spikingjelly_run(graph, obs, li_node="decoder_li"):
    """Run ``graph`` in SpikingJelly for ``num_steps`` steps; return (hidden spikes by node, output
    trace [T, B, n]). SpikingJelly's importer has no ``nir.LI``: the graph is cut before the LI node
    and the LI is computed here from the graph's own LI parameters (forward Euler with ``dt``)."""
    sj = pytest.importorskip("spikingjelly.activation_based.nir_exchange")
    meta = read_metadata(graph)
    nodes = {k: v for k, v in graph.nodes.items() if k != li_node}
    before_li = next(a for a, b in graph.edges if b == li_node)
    edges = [(a, b) for a, b in graph.edges if li_node not in (a, b)] + [(before_li, "output")]
    net = sj.import_from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={}), dt=meta["dt"])
    lif_names = [n for n, node in graph.nodes.items() if type(node).__name__ == "LIF"]
    recorded = {n: [] for n in lif_names}
    hooks = [
        getattr(net, n).register_forward_hook(lambda m, i, o, n=n: recorded[n].append(o[0].detach().numpy().copy()))
        for n in lif_names
    ]
    x = th.as_tensor(obs, dtype=th.float32) * float(meta["preprocess"]["scale"])
    li = graph.nodes[li_node]
    k = meta["dt"] / li.tau
    decay, gain = (1 - k).astype(np.float32), (k * li.r).astype(np.float32)
    state, v, trace = None, None, []
    with th.no_grad():
        for _ in range(meta["num_steps"]):
            current, state = net(x, state)
            current = current.numpy()
            v = gain * current if v is None else decay * v + gain * current
            trace.append(v)
    for h in hooks:
        h.remove()
    return {n: np.stack(s) for n, s in recorded.items()}, np.stack(trace)


def _torch_hidden_spikes(body, obs_t):
    """Spikes [T, B, ...] of every LIF layer of ``body`` in its torch route."""
    spikes = {}
    lifs = [(n, m) for n, m in body.named_modules() if isinstance(m, LIF)]
    hooks = [m.register_forward_hook(lambda m, i, o, n=n: spikes.__setitem__(n, o.numpy())) for n, m in lifs]
    with th.no_grad(), numpy_inference_off(body):
        body(obs_t)
    for h in hooks:
        h.remove()
    return list(spikes.values())


def _check_against_spikingjelly(model, body, obs, tmp_path, readout):
    graph = _round_trip(to_nir(model), tmp_path)
    sj_spikes, trace = _spikingjelly_run(graph, obs)
    obs_t, _ = model.policy.obs_to_tensor(obs)
    owner = model.q_net if isinstance(model, DSQN) else model.actor
    with th.no_grad():
        features = owner.extract_features(obs_t, owner.features_extractor)  # SB3's preprocessing
    ours = _torch_hidden_spikes(body, features)
    assert len(ours) == len(sj_spikes)
    for mine, theirs in zip(ours, sj_spikes.values(), strict=False):
        np.testing.assert_array_equal(theirs.reshape(mine.shape), mine)  # hidden spike trains: exact
    return {"max": trace.max(0), "mean": trace.mean(0), "last": trace[-1]}[readout]


def test_spikingjelly_reproduces_dsqn_spikes_and_actions(dsqn_cartpole, tmp_path):
    obs = _rollout_observations("CartPole-v1", 300, seed=1)
    q = _check_against_spikingjelly(dsqn_cartpole, dsqn_cartpole.q_net.q_net, obs, tmp_path, "max")
    actions, _ = dsqn_cartpole.predict(obs, deterministic=True)
    np.testing.assert_array_equal(q.argmax(1), actions)
    np.testing.assert_allclose(q, _net_outputs(dsqn_cartpole, obs), atol=1e-5, rtol=0)


def test_spikingjelly_reproduces_td3_spikes_and_actions(td3_pendulum, tmp_path):
    obs = _rollout_observations("Pendulum-v1", 300, seed=1)
    out = _check_against_spikingjelly(td3_pendulum, td3_pendulum.actor.mu[0], obs, tmp_path, "max")
    low, high = td3_pendulum.action_space.low, td3_pendulum.action_space.high
    actions = low + 0.5 * (np.tanh(out) + 1.0) * (high - low)
    expected, _ = td3_pendulum.predict(obs, deterministic=True)
    np.testing.assert_allclose(actions, expected, atol=1e-5, rtol=0)


def test_spikingjelly_reproduces_cnn_dsqn(tmp_path):
    env = FakeImageEnv(screen_height=40, screen_width=40, n_channels=2, discrete=True)
    model = DSQN("CnnPolicy", env, policy_kwargs=dict(num_steps=3, **ZERO), **dict(FAST, buffer_size=200))
    model.observation_space.seed(1)
    obs = np.stack([model.observation_space.sample() for _ in range(8)])
    q = _check_against_spikingjelly(model, model.q_net.q_net, obs, tmp_path, "max")
    np.testing.assert_allclose(q, _net_outputs(model, obs), atol=1e-5, rtol=0)
    actions, _ = model.predict(obs, deterministic=True)
    np.testing.assert_array_equal(q.argmax(1), actions)
