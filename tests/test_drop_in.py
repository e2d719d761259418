"""Drop-in fidelity with the SB3 classes (issue 20): ``load`` with the policy_kwargs a model was
built with, float images with ``normalize_images=False``, ..."""

import io

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from sb3_contrib import QRDQN
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.env_util import make_vec_env

from sb3_spiking import DSQN, SpikingA2C, SpikingDDPG, SpikingPPO, SpikingQRDQN, SpikingSAC, SpikingTD3, SpikingTQC
from sb3_spiking.snn import SpikingNatureCNN

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py

#: (algorithm, env id, the policy_kwargs the model is built with)
ALGOS = {
    "td3": (SpikingTD3, "Pendulum-v1", dict(net_arch=[32])),
    "ddpg": (SpikingDDPG, "Pendulum-v1", dict(net_arch=[32])),
    "sac": (SpikingSAC, "Pendulum-v1", dict(net_arch=[32])),
    "dsqn": (DSQN, "CartPole-v1", dict(net_arch=[32])),
    "qrdqn": (SpikingQRDQN, "CartPole-v1", dict(net_arch=[32], n_quantiles=5)),
    "tqc": (SpikingTQC, "Pendulum-v1", dict(net_arch=[32], n_quantiles=5)),
    "ppo": (SpikingPPO, "CartPole-v1", dict(net_arch=[32])),
    "a2c": (SpikingA2C, "CartPole-v1", dict(net_arch=[32], num_steps=4, beta=0.7)),
    "ppo_ann": (SpikingPPO, "CartPole-v1", dict(net_arch=[32], spiking=False)),
}


@pytest.fixture(params=list(ALGOS))
def saved(request, tmp_path):
    algo, env_id, policy_kwargs = ALGOS[request.param]
    env = make_vec_env(env_id, n_envs=1, seed=0)
    model = algo("MlpPolicy", env, policy_kwargs=dict(policy_kwargs), seed=0, device="cpu")
    obs = env.reset()
    model.save(tmp_path / "model")
    return algo, env, policy_kwargs, model, obs, tmp_path / "model.zip"


def test_load_accepts_the_policy_kwargs_the_model_was_built_with(saved):
    algo, env, policy_kwargs, model, obs, path = saved
    stored = dict(model.policy_kwargs)
    assert stored != policy_kwargs  # the resolved options were written back
    loaded = algo.load(path, env=env, policy_kwargs=dict(policy_kwargs), device="cpu")
    assert loaded.policy_kwargs == stored  # the stored (resolved) dict is the one in use
    assert loaded.policy.spiking_options == model.policy.spiking_options
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    # defaults spelt out resolve to the same options; the stored dict itself is accepted as SB3's
    algo.load(path, env=env, policy_kwargs=dict(policy_kwargs, threshold=1.0, encoder="direct"), device="cpu")
    algo.load(path, env=env, policy_kwargs=stored, device="cpu")
    # a file object (SB3 accepts one) is read twice: the data entry, then SB3's load
    with open(path, "rb") as f:
        algo.load(io.BytesIO(f.read()), env=env, policy_kwargs=dict(policy_kwargs), device="cpu")


def test_load_refuses_policy_kwargs_that_really_differ(saved):
    algo, env, policy_kwargs, _, _, path = saved
    for other in (
        dict(policy_kwargs, net_arch=[64]),
        dict(policy_kwargs, num_steps=policy_kwargs.get("num_steps", 5) + 1),
        dict(policy_kwargs, spiking=not policy_kwargs.get("spiking", True)),
        dict(policy_kwargs, beta=2.0),  # invalid: cannot match the stored (valid) options
        {},
    ):
        with pytest.raises(ValueError, match="The specified policy kwargs do not equal the stored policy kwargs"):
            algo.load(path, env=env, policy_kwargs=other, device="cpu")


def test_algorithm_filled_keys_are_compared_when_given(tmp_path):
    """A2C puts its RMSprop optimizer into policy_kwargs itself: a dict without an optimizer
    matches, one naming another optimizer does not."""
    model = SpikingA2C("MlpPolicy", "CartPole-v1", policy_kwargs=dict(net_arch=[32]), device="cpu")
    model.save(tmp_path / "a2c")
    loaded = SpikingA2C.load(tmp_path / "a2c", policy_kwargs=dict(net_arch=[32]), device="cpu")
    assert isinstance(loaded.policy.optimizer, th.optim.RMSprop)
    with pytest.raises(ValueError, match="do not equal"):
        SpikingA2C.load(tmp_path / "a2c", policy_kwargs=dict(net_arch=[32], optimizer_class=th.optim.Adam))


# -- float images with normalize_images=False ---------------------------------------------------
class FloatImageEnv(gym.Env):
    """Images that are not pixels: float, any range (e.g. VecNormalize'd)."""

    def __init__(self, low=-10.0, high=10.0, shape=(1, 36, 36), dtype=np.float32):
        self.observation_space = spaces.Box(low, high, shape, dtype)
        self.action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), float(action), False, False, {}


IMAGE_ALGOS = {
    "dsqn": (DQN, DSQN, dict(buffer_size=200, learning_starts=16, train_freq=4, batch_size=8)),
    "qrdqn": (QRDQN, SpikingQRDQN, dict(buffer_size=200, learning_starts=16, train_freq=4, batch_size=8)),
    "ppo": (PPO, SpikingPPO, dict(n_steps=16, batch_size=8, n_epochs=1)),
}


@pytest.mark.parametrize("name", list(IMAGE_ALGOS))
def test_float_images_of_any_range_with_normalize_images_false(name, tmp_path):
    sb3_algo, algo, kwargs = IMAGE_ALGOS[name]
    pk = dict(normalize_images=False, num_steps=4)
    sb3_algo("CnnPolicy", FloatImageEnv(), policy_kwargs=dict(normalize_images=False), device="cpu", **kwargs)  # SB3 accepts
    model = algo("CnnPolicy", FloatImageEnv(), policy_kwargs=pk, seed=0, device="cpu", **kwargs)
    if name == "dsqn":
        assert isinstance(model.policy.q_net.q_net, SpikingNatureCNN)
    if name == "qrdqn":
        assert isinstance(model.policy.quantile_net.quantile_net, SpikingNatureCNN)
    model.learn(48)
    obs = np.stack([model.observation_space.sample() for _ in range(4)])
    assert obs.min() < -1.0 and obs.max() > 1.0  # far outside [0, 1], taken as they come
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (4,)
    if name == "dsqn":  # the values reach the network unscaled: a scaled copy gives other Q-values
        with th.no_grad():
            q = model.q_net(th.as_tensor(obs))
            assert th.isfinite(q).all() and not th.allclose(q, model.q_net(th.as_tensor(obs) / 255.0))
    model.save(tmp_path / "m")
    loaded = algo.load(tmp_path / "m", device="cpu")
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], actions)


@pytest.mark.parametrize("name", list(IMAGE_ALGOS))
def test_images_sb3_rejects_are_rejected_clearly(name):
    sb3_algo, algo, kwargs = IMAGE_ALGOS[name]
    cases = [
        (FloatImageEnv(0.0, 1.0), {}),  # float images that the policy would scale by 1/255
        (FloatImageEnv(shape=(36, 36)), dict(normalize_images=False)),  # not (C, H, W)
    ]
    for env, pk in cases:
        with pytest.raises(AssertionError):
            sb3_algo("CnnPolicy", env, policy_kwargs=pk, device="cpu", **kwargs)
        with pytest.raises((ValueError, AssertionError), match=r"image|NatureCNN"):
            algo("CnnPolicy", env, policy_kwargs=pk, device="cpu", **kwargs)
    if name in ("dsqn", "qrdqn"):
        with pytest.raises(ValueError, match="normalize_images=False"):
            algo("CnnPolicy", FloatImageEnv(), device="cpu", **kwargs)


@pytest.mark.parametrize("cls", [SpikingPPO, SpikingA2C])
def test_gpu_warning_for_the_mlp_policy_as_sb3(cls):
    """SB3 warns when PPO/A2C's MlpPolicy is put on a GPU; the spiking MLP policy warns too, the
    CNN policy does not (the check reads only the device and the policy class)."""
    import warnings

    from sb3_spiking import SpikingActorCriticCnnPolicy

    model = cls("MlpPolicy", "CartPole-v1", device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model._maybe_recommend_cpu()  # on the CPU: silent
    model.device = th.device("cuda")
    with pytest.warns(UserWarning, match="GPU.*SpikingActorCriticPolicy"):
        model._maybe_recommend_cpu()
    model.policy_class = SpikingActorCriticCnnPolicy
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model._maybe_recommend_cpu()


def test_warns_when_the_budget_ends_before_learning_starts():
    import warnings

    model = SpikingTD3("MlpPolicy", "Pendulum-v1", learning_starts=60, policy_kwargs=dict(net_arch=[8]), device="cpu")
    with pytest.warns(UserWarning, match="learning_starts=60"):
        model.learn(50)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.learn(30, reset_num_timesteps=False)  # ends at 80 > 60: trains
    dsqn = DSQN("MlpPolicy", "CartPole-v1", learning_starts=100, policy_kwargs=dict(net_arch=[8]), device="cpu")
    with pytest.warns(UserWarning, match="no gradient step"):
        dsqn.learn(100)


def test_spiking_false_warns_about_ignored_spiking_options(tmp_path):
    import warnings

    with pytest.warns(UserWarning, match="spiking=False.*ignore num_steps"):
        SpikingTD3("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(spiking=False, num_steps=8), device="cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = SpikingPPO("MlpPolicy", "Pendulum-v1", policy_kwargs=dict(spiking=False), device="cpu")
        model.save(tmp_path / "ann.zip")
        SpikingPPO.load(tmp_path / "ann.zip", device="cpu")  # the stored (default) options: silent
