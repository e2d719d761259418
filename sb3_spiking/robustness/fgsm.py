"""Adversarial robustness: returns under FGSM perturbations of every observation.

The attack (Goodfellow et al. 2015, applied to policies by Huang et al. 2017) is white-box: at
each step the observation ``x`` is replaced by ``x + epsilon * sign(grad_x L)``, where ``L``
grows as the greedy action ``a*`` loses its lead, and the agent acts (greedily, through its own
``predict``) on the perturbed observation. For spiking networks the gradient is the surrogate
gradient the network trains with.

``L = logsumexp_{a != a*} s_a - s_{a*}``, with ``s`` the Q-values (DQN, DSQN) or the action
logits (PPO, A2C, spiking or not). Its gradient is the gradient of Huang et al.'s cross-entropy
loss ``-log softmax(s)_{a*}`` divided by ``1 - softmax(s)_{a*} > 0``, so FGSM's sign step is the
same; unlike the cross-entropy it does not underflow to a zero gradient when ``a*`` leads by more
than ~17 (float32), which would make a network with large Q-values (a converted SNN counts spikes
over hundreds of steps) look robust when it is merely saturated.

``epsilon`` is in the units the network sees after SB3's preprocessing: raw values for vector
observations, pixels / 255 for images. Perturbed observations are clipped to the observation
space's bounds (widened to include the clean observation, so ``epsilon=0`` changes nothing).

The command line (``python -m sb3_spiking.robustness``) is in :mod:`.cli`, the plot in :mod:`.plots`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.policies import ActorCriticPolicy, BasePolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.dqn.policies import DQNPolicy

from sb3_spiking.common.envs import as_vec_env, make_eval_env
from sb3_spiking.snn.validation import check_int, check_real


def _policy(model: BaseAlgorithm | BasePolicy) -> BasePolicy:
    policy = model.policy if isinstance(model, BaseAlgorithm) else model
    if not isinstance(policy, BasePolicy):
        raise TypeError(f"FGSM needs an SB3 model or policy, got {type(model).__name__}")
    if not isinstance(policy, (DQNPolicy, ActorCriticPolicy)):
        raise TypeError(
            f"FGSM supports policies with a differentiable Q-network or action logits: DQN/DSQN "
            f"(DQNPolicy) and PPO/A2C (ActorCriticPolicy, spiking or not); got {type(policy).__name__}"
        )
    if not isinstance(policy.action_space, spaces.Discrete) or policy.action_space.n < 2:
        raise ValueError(
            f"FGSM against the greedy action needs a Discrete action space with at least 2 actions, got {policy.action_space}"
        )
    if not isinstance(policy.observation_space, spaces.Box):
        raise ValueError(
            "FGSM perturbs observations along their gradient: it needs a Box observation space, "
            f"got {policy.observation_space}"
        )
    return policy


def action_scores(policy: BasePolicy, obs: th.Tensor) -> th.Tensor:
    """Differentiable per-action scores ``[B, n_actions]`` whose argmax is the greedy action:
    Q-values of a ``DQNPolicy``, logits of an ``ActorCriticPolicy``'s categorical distribution."""
    if isinstance(policy, DQNPolicy):
        return policy.q_net(obs)
    return policy.get_distribution(obs).distribution.logits  # type: ignore[attr-defined]


def fgsm_perturb(model: BaseAlgorithm | BasePolicy, observation: np.ndarray, epsilon: float) -> np.ndarray:
    """``observation`` (one or a batch, as ``predict`` takes it) after one FGSM step of size
    ``epsilon`` against the greedy action, in the policy's observation layout (float32).

    :param model: a DQN/DSQN or PPO/A2C model (or its policy) with Discrete actions.
    :param observation: raw observation(s) from the env.
    :param epsilon: L-infinity size of the perturbation, in preprocessed units (>= 0).
    """
    policy = _policy(model)
    epsilon = check_real("epsilon", epsilon, 0.0)
    obs, vectorized = policy.obs_to_tensor(observation)
    x = obs.float().detach().requires_grad_(True)
    was_training = policy.training
    policy.set_training_mode(False)
    try:
        with th.enable_grad():
            scores = action_scores(policy, x)
            greedy = scores.argmax(dim=1, keepdim=True)
            others = scores.scatter(1, greedy, float("-inf"))
            loss = (th.logsumexp(others, dim=1) - scores.gather(1, greedy).squeeze(1)).sum()
            (grad,) = th.autograd.grad(loss, x)
    finally:
        policy.set_training_mode(was_training)
    space = policy.observation_space
    step = epsilon * (255.0 if is_image_space(space) and policy.normalize_images else 1.0)
    clean = x.detach().cpu().numpy()
    adv = clean + np.float32(step) * np.nan_to_num(grad.sign().cpu().numpy())
    adv = np.clip(adv, np.minimum(space.low, clean), np.maximum(space.high, clean)).astype(np.float32)
    return adv if vectorized else adv[0]


class FGSMPredictor:
    """Wraps a model so that ``predict`` acts on FGSM-perturbed observations: SB3's
    ``evaluate_policy`` (or any loop calling ``predict``) then measures the attacked agent.

    :param model: the attacked model (see :func:`fgsm_perturb`).
    :param epsilon: perturbation size.
    """

    def __init__(self, model: BaseAlgorithm, epsilon: float) -> None:
        _policy(model)
        self.model = model
        self.epsilon = check_real("epsilon", epsilon, 0.0)

    def predict(
        self,
        observation: np.ndarray,
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """The model's ``predict`` on the perturbed observation."""
        perturbed = fgsm_perturb(self.model, observation, self.epsilon)
        return self.model.predict(perturbed, state, episode_start, deterministic)


def fgsm_evaluate(
    model: BaseAlgorithm,
    env: GymEnv | str,
    epsilons: Sequence[float] = (0.0, 0.01, 0.05, 0.1),
    n_episodes: int = 10,
    *,
    seed: int | None = 0,
    deterministic: bool = True,
    return_episode_rewards: bool = False,
) -> dict[float, float] | dict[float, list[float]]:
    """Mean return of ``model`` per FGSM ``epsilon`` (SB3's ``evaluate_policy`` on perturbed
    observations; ``epsilon=0`` is the clean evaluation).

    :param model: DQN, DSQN, PPO or A2C (ANN or spiking policy), Discrete actions, Box observations.
    :param env: an env or its Gymnasium id; every epsilon replays the same episode seeds.
    :param epsilons: perturbation sizes (preprocessed units, see the module docstring).
    :param n_episodes: episodes per epsilon.
    :param seed: env seed before each epsilon's episodes (None: continue the env's own sequence).
    :param deterministic: greedy actions (as ``evaluate_policy``).
    :param return_episode_rewards: return each epsilon's list of episode returns instead.
    """
    _policy(model)
    n_episodes = check_int("n_episodes", n_episodes)
    epsilons = [check_real("epsilon", e, 0.0) for e in epsilons]
    if not epsilons:
        raise ValueError("epsilons must hold at least one value")
    vec_env = make_eval_env(env, seed) if isinstance(env, str) else as_vec_env(env)
    results: dict[float, Any] = {}
    for epsilon in epsilons:
        if seed is not None:
            vec_env.seed(seed)
        returns, _ = evaluate_policy(
            FGSMPredictor(model, epsilon),
            vec_env,
            n_eval_episodes=n_episodes,
            deterministic=deterministic,
            return_episode_rewards=True,
        )
        results[epsilon] = [float(r) for r in returns] if return_episode_rewards else float(np.mean(returns))
    return results
