"""The NumPy ``predict`` route returns exactly what SB3's ``predict`` returns."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy

from sb3_spiking import DSQN, SpikingQRDQN, SpikingSAC, SpikingTD3, SpikingTQC
from sb3_spiking.common.options import SpikingPolicyMixin

CASES = [
    (SpikingTD3, "Pendulum-v1", {}),
    (SpikingTD3, "Pendulum-v1", {"encoder": "population", "decoder": "population"}),
    (SpikingTD3, "Pendulum-v1", {"encoder": "direct", "decoder": "rate"}),
    (SpikingSAC, "Pendulum-v1", {}),
    (DSQN, "CartPole-v1", {}),
    (DSQN, "CartPole-v1", {"encoder": "learnable", "decoder": "learnable"}),
    (SpikingQRDQN, "CartPole-v1", {"n_quantiles": 7}),
    (SpikingTQC, "Pendulum-v1", {"n_quantiles": 5}),
]


def sb3_predict(policy, obs, deterministic=True):
    return BasePolicy.predict(policy, obs, deterministic=deterministic)[0]


@pytest.mark.parametrize("cls,env_id,kwargs", CASES, ids=lambda v: getattr(v, "__name__", str(v)))
def test_numpy_route_matches_sb3(cls, env_id, kwargs) -> None:
    model = cls("MlpPolicy", env_id, policy_kwargs=dict(net_arch=[32, 32], **kwargs), device="cpu", seed=0)
    policy = model.policy
    space = model.observation_space
    rng = np.random.default_rng(0)
    for shape in [space.shape, (1, *space.shape), (7, *space.shape)]:
        obs = rng.uniform(-1, 1, size=shape).astype(np.float32)
        with torch.no_grad():
            assert policy._numpy_predict(obs, True) is not None, "the fast route should apply"
        fast, state = policy.predict(obs, state="s", deterministic=True)
        assert state == "s"
        reference = sb3_predict(policy, obs)
        assert fast.shape == reference.shape and fast.dtype == reference.dtype
        np.testing.assert_array_equal(fast, reference)
        # float64 observations are cast like SB3's preprocessing does
        np.testing.assert_array_equal(policy.predict(obs.astype(np.float64), deterministic=True)[0], reference)


def test_rate_encoder_uses_sb3_route() -> None:
    """Rate coding samples spikes with torch's generator: the NumPy route must not apply."""
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[16], encoder="rate"), device="cpu")
    with torch.no_grad():
        assert model.policy._numpy_predict(np.zeros(3, dtype=np.float32), True) is None


def test_numpy_route_leaves_eval_mode_and_falls_back() -> None:
    model = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[16]), device="cpu")
    policy = model.policy
    policy.set_training_mode(True)
    policy.predict(np.zeros(3, dtype=np.float32))
    assert not policy.training and not policy.actor.training
    # Too large a batch, a wrong shape, or a list: SB3's route (and its errors)
    with torch.no_grad():
        assert policy._numpy_predict(np.zeros((65, 3), dtype=np.float32), True) is None
    assert policy.predict(np.zeros((65, 3), dtype=np.float32))[0].shape == (65, 1)
    with pytest.raises(ValueError, match="observation"):
        policy.predict(np.zeros(4, dtype=np.float32))
    assert policy.predict([0.0, 0.0, 0.0])[0].shape == (1,)
    with pytest.raises(ValueError, match="NaN"):
        policy.predict(np.array([np.nan, 0.0, 0.0], dtype=np.float32))


def test_stochastic_sac_and_ann_twin_use_sb3_route() -> None:
    sac = SpikingSAC("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[16]), device="cpu")
    assert sac.policy._numpy_predict(np.zeros(3, dtype=np.float32), False) is None
    ann = SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(net_arch=[16], spiking=False), device="cpu")
    assert ann.policy._numpy_predict(np.zeros(3, dtype=np.float32), True) is None
    assert isinstance(ann.policy, SpikingPolicyMixin)
    assert isinstance(sac.observation_space, spaces.Box) and torch.is_grad_enabled()
