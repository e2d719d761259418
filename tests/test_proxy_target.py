"""proxy_target for SpikingTD3 / SpikingDDPG: the ANN proxy tracks the actor, the critic target
uses it, save/load/resume keep it, bad input is refused, RL Zoo can set and tune it."""

from __future__ import annotations

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3.common.logger import Logger
from stable_baselines3.td3.policies import Actor

from sb3_spiking import SpikingDDPG, SpikingTD3

SMALL = dict(net_arch=[32, 32])
FAST = dict(learning_starts=50, batch_size=32, buffer_size=2000, seed=0, device="cpu")
PROXY = dict(net_arch=[64, 64])


def _proxy_model(algo=SpikingTD3, **kwargs):
    return algo(
        "MlpPolicy", "Pendulum-v1", proxy_target=True, proxy_target_kwargs=PROXY, policy_kwargs=SMALL, **FAST, **kwargs
    )


def _gap(model, proxy, obs):
    """Mean squared difference between ``proxy``'s and the actor's deterministic actions."""
    model.policy.set_training_mode(False)
    with th.no_grad():
        return float(((proxy(obs) - model.actor(obs)) ** 2).mean())


def test_defaults_are_the_papers(one_thread):
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", proxy_target=True, policy_kwargs=SMALL, **FAST)
    assert isinstance(model.proxy_actor, Actor)
    linear = [m for m in model.proxy_actor.mu if isinstance(m, th.nn.Linear)]
    assert [m.out_features for m in linear] == [512, 512, 1]
    assert any(isinstance(m, th.nn.ReLU) for m in model.proxy_actor.mu)
    assert model.proxy_target_kwargs["n_updates"] == 3
    assert model.proxy_actor.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    assert SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=SMALL, **FAST).proxy_actor is None


@pytest.mark.parametrize("algo", [SpikingTD3, SpikingDDPG])
def test_proxy_tracks_the_actor_after_training(one_thread, algo):
    model = _proxy_model(algo)
    initial_proxy = copy.deepcopy(model.proxy_actor)
    model.learn(800)
    obs = model.replay_buffer.sample(256).observations  # the states the proxy is fitted on
    before, after = _gap(model, initial_proxy, obs), _gap(model, model.proxy_actor, obs)
    with th.no_grad():
        spread = float(model.actor(obs).var())
    assert after < 0.1 * before and after < 0.05 * spread, (before, after, spread)
    assert "train/proxy_loss" in model.logger.name_to_value


def test_critic_target_uses_the_proxy_not_the_polyak_copy(one_thread, monkeypatch):
    model = _proxy_model()
    model.learn(60)  # fills the buffer past learning_starts
    target_before = [p.clone() for p in model.actor_target.parameters()]
    calls = {"proxy": 0, "actor_target": 0}
    proxy_forward, target_forward = model.proxy_actor.forward, model.actor_target.forward

    def count(name, fn):
        def wrapped(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(model.proxy_actor, "forward", count("proxy", proxy_forward))
    monkeypatch.setattr(model.actor_target, "forward", count("actor_target", target_forward))
    model.train(gradient_steps=4, batch_size=32)
    n_actor_updates = 2  # policy_delay 2
    assert calls["actor_target"] == 0
    # one call per critic target (4) + n_updates (3) per actor update (2)
    assert calls["proxy"] == 4 + 3 * n_actor_updates
    assert all(th.equal(a, b) for a, b in zip(target_before, model.actor_target.parameters(), strict=True))


def test_changing_the_proxy_changes_the_critic_update(one_thread):
    """Same model, same RNG: one critic step is reproducible, and differs once the proxy differs."""
    critics = []
    for flip in (False, False, True):
        model = _proxy_model()
        model.learn(60)
        if flip:
            with th.no_grad():
                for p in model.proxy_actor.mu.parameters():
                    p.neg_()
        th.manual_seed(0)
        np.random.seed(0)
        model.train(gradient_steps=1, batch_size=32)
        critics.append([p.detach().clone() for p in model.critic.parameters()])
    assert all(th.equal(a, b) for a, b in zip(critics[0], critics[1], strict=True))
    assert any(not th.equal(a, b) for a, b in zip(critics[0], critics[2], strict=True))


def test_save_load_resume_continues_exactly(one_thread, tmp_path):
    model = _proxy_model()
    model.learn(200)
    model.save(tmp_path / "m.zip")
    model.save_replay_buffer(tmp_path / "buf.pkl")
    loaded = SpikingTD3.load(tmp_path / "m.zip", env=gym.make("Pendulum-v1"), device="cpu")
    loaded.load_replay_buffer(tmp_path / "buf.pkl")
    assert loaded.proxy_target and loaded.proxy_target_kwargs["net_arch"] == [64, 64]
    for a, b in zip(model.proxy_actor.state_dict().values(), loaded.proxy_actor.state_dict().values(), strict=True):
        assert th.equal(a, b)
    opt_a, opt_b = model.proxy_actor.optimizer.state_dict(), loaded.proxy_actor.optimizer.state_dict()
    assert opt_a["state"].keys() == opt_b["state"].keys() and opt_a["state"]
    for key in opt_a["state"]:
        assert th.equal(opt_a["state"][key]["exp_avg"], opt_b["state"][key]["exp_avg"])
    # the same gradient steps from the same RNG state give the same networks
    loaded.set_logger(Logger(folder=None, output_formats=[]))  # train() outside learn() needs one
    for m in (model, loaded):
        th.manual_seed(1)
        np.random.seed(1)
        m.train(gradient_steps=6, batch_size=32)
    for part in ("proxy_actor", "actor", "critic"):
        sd_a, sd_b = getattr(model, part).state_dict(), getattr(loaded, part).state_dict()
        for key in sd_a:
            assert th.allclose(sd_a[key], sd_b[key], atol=1e-6), (part, key)
    # the policy alone (deployment) carries no proxy
    model.policy.save(tmp_path / "policy.pkl")
    assert not any("proxy" in k for k in th.load(tmp_path / "policy.pkl", weights_only=False)["state_dict"])


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        (dict(proxy_target=True, policy_kwargs=dict(spiking=False)), ValueError, "spiking=False"),
        (dict(proxy_target="yes"), TypeError, "proxy_target"),
        (dict(proxy_target=True, proxy_target_kwargs=dict(hidden=[8])), ValueError, "allowed: net_arch"),
        (dict(proxy_target=True, proxy_target_kwargs=dict(n_updates=0)), ValueError, "n_updates"),
        (dict(proxy_target=True, proxy_target_kwargs=dict(learning_rate=-1.0)), ValueError, "learning_rate"),
        (dict(proxy_target=True, proxy_target_kwargs=dict(net_arch=[])), ValueError, "net_arch"),
        (dict(proxy_target=True, proxy_target_kwargs=[512]), TypeError, "proxy_target_kwargs"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        SpikingTD3("MlpPolicy", "Pendulum-v1", **{**FAST, **kwargs})


def test_kwargs_without_proxy_warn():
    with pytest.warns(UserWarning, match="proxy_target=False"):
        SpikingTD3("MlpPolicy", "Pendulum-v1", proxy_target_kwargs=dict(n_updates=2), policy_kwargs=SMALL, **FAST)


def test_zoo_sampler_tunes_proxy_target_and_converter_puts_it_back():
    optuna = pytest.importorskip("optuna")
    from rl_zoo3.hyperparams_opt import HYPERPARAMS_CONVERTER, HYPERPARAMS_SAMPLER

    study = optuna.create_study()
    trial = study.ask()
    sampled = HYPERPARAMS_SAMPLER["spiking_td3"](trial, 1, 1, {"using_her_replay_buffer": False, "her_kwargs": {}})
    assert sampled["proxy_target"] in (False, True) and "proxy_target" not in sampled["policy_kwargs"]
    converted = HYPERPARAMS_CONVERTER["spiking_td3"](dict(trial.params))
    assert converted["proxy_target"] == sampled["proxy_target"]
    sac = HYPERPARAMS_SAMPLER["spiking_sac"](study.ask(), 1, 1, {"using_her_replay_buffer": False, "her_kwargs": {}})
    assert "proxy_target" not in sac


def test_rl_zoo_params_proxy_target(tmp_path):
    """``rl_zoo3 train --algo spiking_td3 ... -params proxy_target:True`` trains with the proxy."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    pytest.importorskip("rl_zoo3")
    cmd = [
        sys.executable, "-c", "import sys; from rl_zoo3.cli import main; sys.argv[0] = 'rl_zoo3'; sys.exit(main())",
        "train", "--algo", "spiking_td3", "--env", "Pendulum-v1", "-n", "300", "-f", "logs", "--seed", "0",
        "-params", "learning_starts:100", "proxy_target:True", "proxy_target_kwargs:dict(net_arch=[64, 64])",
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    path = Path(tmp_path, "logs", "spiking_td3", "Pendulum-v1_1", "Pendulum-v1.zip")
    model = SpikingTD3.load(path, device="cpu")
    assert model.proxy_target and model.proxy_target_kwargs["net_arch"] == [64, 64]
    assert model.proxy_actor is not None
    assert "proxy_target" in (path.parent / "Pendulum-v1" / "config.yml").read_text()
