"""The fast ``set_training_mode`` of the spiking policies has exactly SB3's effect."""

from __future__ import annotations

import copy

import pytest
import torch

from sb3_spiking import DSQN, SpikingA2C, SpikingPPO, SpikingQRDQN, SpikingSAC, SpikingTD3, SpikingTQC
from sb3_spiking.common.options import SpikingPolicyMixin
from sb3_spiking.snn.network import set_train_mode

CASES = [
    (SpikingTD3, "Pendulum-v1", {}),
    (SpikingTD3, "Pendulum-v1", {"spiking_critic": True}),
    (SpikingSAC, "Pendulum-v1", {}),
    (DSQN, "CartPole-v1", {}),
    (SpikingQRDQN, "CartPole-v1", {"n_quantiles": 5}),
    (SpikingTQC, "Pendulum-v1", {"spiking_critic": True, "n_quantiles": 5}),
    (SpikingPPO, "CartPole-v1", {"spiking_critic": True}),
    (SpikingA2C, "Pendulum-v1", {}),
]


def flags(module: torch.nn.Module) -> dict[str, bool]:
    return {name: m.training for name, m in module.named_modules()}


@pytest.mark.parametrize("cls,env_id,kwargs", CASES, ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("mode", [True, False])
def test_set_training_mode_matches_sb3(cls, env_id, kwargs, mode) -> None:
    policy = cls("MlpPolicy", env_id, policy_kwargs=dict(net_arch=[16], **kwargs), device="cpu").policy
    # A scrambled starting state, so that every module's flag has to be right.
    for i, m in enumerate(policy.modules()):
        m.training = bool(i % 3)
    reference = copy.deepcopy(policy)
    policy.set_training_mode(mode)
    super(SpikingPolicyMixin, reference).set_training_mode(mode)  # SB3's own implementation
    assert flags(policy) == flags(reference)


def test_set_train_mode_calls_custom_train_and_checks_mode() -> None:
    calls = []

    class Custom(torch.nn.Module):
        def train(self, mode: bool = True):
            calls.append(mode)
            return self

    net = torch.nn.Sequential(torch.nn.Linear(2, 2), Custom())
    set_train_mode(net, False)
    assert calls == [False] and not net[0].training
    with pytest.raises(ValueError, match="boolean"):
        set_train_mode(net, 1)  # type: ignore[arg-type]
