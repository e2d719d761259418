"""The NumPy inference route (SpikingNetwork docstring): taken at batch 1 without gradients,
skipped where forward hooks must fire, and switchable off."""

import numpy as np
import pytest
import torch as th
from torch import nn

from sb3_spiking import SpikingTD3
from sb3_spiking.snn import SpikingMLP, SpikingOptions
from sb3_spiking.snn.network import SpikingNetwork


@pytest.fixture
def numpy_calls(monkeypatch):
    calls = []
    original = SpikingMLP._numpy_forward

    def counting(self, obs):
        calls.append(obs.shape)
        return original(self, obs)

    monkeypatch.setattr(SpikingMLP, "_numpy_forward", counting)
    return calls


def _net() -> SpikingMLP:
    th.manual_seed(0)
    return SpikingMLP(3, 2, [16, 16], SpikingOptions(num_steps=4))


def test_batch_one_no_grad_forward_takes_the_numpy_route(numpy_calls):
    net, x = _net(), th.randn(1, 3)
    with th.no_grad():
        out = net(x)
    assert numpy_calls == [(1, 3)]
    assert th.allclose(out, net.decoder(net.hidden_spikes(x)), atol=1e-5)


@pytest.mark.parametrize("where", ["submodule", "network", "pre_hook"])
def test_forward_hooks_fire_instead(numpy_calls, where):
    net, x = _net(), th.randn(1, 3)
    seen = []
    with th.no_grad():
        expected = net(x)
    numpy_calls.clear()
    if where == "submodule":
        handle = net.lifs[0].register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    elif where == "network":
        handle = net.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    else:
        handle = net.fcs[1].register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape))
    with th.no_grad():
        out = net(x)
    handle.remove()
    assert seen and numpy_calls == []
    assert th.allclose(out, expected, atol=1e-5)
    with th.no_grad():
        net(x)
    assert numpy_calls == [(1, 3)]  # hook removed: the NumPy route again


def test_global_forward_hook_fires(numpy_calls):
    net, x = _net(), th.randn(1, 3)
    seen = []
    handle = nn.modules.module.register_module_forward_hook(lambda mod, args, out: seen.append(type(mod).__name__))
    try:
        with th.no_grad():
            net(x)
    finally:
        handle.remove()
    assert "LIF" in seen and numpy_calls == []


def test_policy_hooks_fire_through_predict(numpy_calls):
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", seed=0, policy_kwargs=dict(net_arch=[16, 16]))
    obs = model.observation_space.sample()
    fast, _ = model.predict(obs, deterministic=True)
    assert numpy_calls  # the policy's NumPy route
    numpy_calls.clear()
    seen = []
    handle = model.policy.actor.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
    slow, _ = model.predict(obs, deterministic=True)
    handle.remove()
    assert seen == [th.Size([1, 1])]  # SB3's route: the actor's forward ran (its body may still use NumPy)
    np.testing.assert_allclose(slow, fast, atol=1e-5)


def test_opt_out_per_network_and_for_every_network(numpy_calls, monkeypatch):
    net, x = _net(), th.randn(1, 3)
    net.numpy_inference = False
    with th.no_grad():
        net(x)
    assert numpy_calls == []
    del net.numpy_inference
    monkeypatch.setattr(SpikingNetwork, "numpy_inference", False)
    with th.no_grad():
        net(x)
    assert numpy_calls == []
