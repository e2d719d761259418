"""StopTrainingWhenSolved: SB3's EvalCallback + StopTrainingOnRewardThreshold, usable from a zoo YAML."""

import gymnasium as gym
import pytest
import yaml

from sb3_spiking import DSQN, StopTrainingWhenSolved
from sb3_spiking.zoo import settings

pytestmark = pytest.mark.usefixtures("one_thread")


def small_dsqn(seed=0):
    return DSQN("MlpPolicy", gym.make("CartPole-v1"), learning_starts=10_000, policy_kwargs=dict(net_arch=[16]), seed=seed)


def test_stops_at_the_first_evaluation_that_reaches_the_threshold():
    model = small_dsqn()
    callback = StopTrainingWhenSolved(reward_threshold=1.0, eval_freq=200, n_eval_episodes=2)
    model.learn(5_000, callback=callback)
    assert callback.solved_at == 200
    assert model.num_timesteps == 200


def test_runs_the_full_budget_when_never_solved():
    model = small_dsqn()
    callback = StopTrainingWhenSolved(reward_threshold=10_000.0, eval_freq=300, n_eval_episodes=1)
    model.learn(900, callback=callback)
    assert callback.solved_at is None
    assert model.num_timesteps == 900
    assert callback.eval_callback.best_mean_reward < 10_000  # it did evaluate


def test_built_from_a_zoo_callback_entry(tmp_path):
    path = tmp_path / "dsqn.yml"
    entry = {
        "n_timesteps": 1000,
        "policy": "MlpPolicy",
        "callback": [{"sb3_spiking.common.callbacks.StopTrainingWhenSolved": {"reward_threshold": 1.0, "eval_freq": 100}}],
    }
    path.write_text(yaml.safe_dump({"CartPole-v1": entry}))
    (callback,) = settings.zoo_callbacks(path, "CartPole-v1")
    assert isinstance(callback, StopTrainingWhenSolved)
    assert (callback.reward_threshold, callback.eval_freq, callback.n_eval_episodes) == (1.0, 100, 5)
    kwargs, n_timesteps, _ = settings.zoo_kwargs(path, "CartPole-v1")
    assert "callback" not in kwargs and n_timesteps == 1000


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(reward_threshold=float("nan")), "reward_threshold"),
        (dict(reward_threshold=1.0, eval_freq=0), "eval_freq"),
        (dict(reward_threshold=1.0, n_eval_episodes=0), "n_eval_episodes"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        StopTrainingWhenSolved(**kwargs)


def test_counts_env_steps_and_evaluates_through_vecnormalize():
    """With n_envs training envs, eval_freq is env steps; a VecNormalize env is evaluated normalised."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_spiking import SpikingPPO

    env = VecNormalize(make_vec_env("CartPole-v1", n_envs=4, seed=0), gamma=0.98)
    model = SpikingPPO("MlpPolicy", env, n_steps=32, batch_size=64, policy_kwargs=dict(net_arch=[16]), seed=0)
    callback = StopTrainingWhenSolved(reward_threshold=1.0, eval_freq=256, n_eval_episodes=1)
    model.learn(2_000, callback=callback)
    eval_env = callback.eval_callback.eval_env
    assert isinstance(eval_env, VecNormalize) and not eval_env.training and not eval_env.norm_reward
    assert callback.eval_callback.eval_freq == 64
    assert callback.solved_at == 256  # the first evaluation, after 64 vectorised steps of 4 envs
    assert eval_env.obs_rms.count == env.obs_rms.count  # statistics copied from the training env
