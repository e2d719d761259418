"""Optuna samplers and converters for ``rl_zoo3 train --algo <spiking algo> -optimize``.

Each spiking algorithm reuses RL Zoo's sampler of its ANN twin (``spiking_td3`` -> ``td3``,
``dsqn`` -> ``dqn``, ``spiking_qrdqn`` -> ``qrdqn``, ``spiking_tqc`` -> ``tqc``,
``spiking_ppo`` -> ``ppo``, ``spiking_ppo_lstm`` -> ``ppo_lstm``, ...) for the usual SB3 parameters, and adds the
spiking options to the sampled ``policy_kwargs``:

==================== ==============================================================
``num_steps``        1, 2, 4, 5, 8, 16
``encoder``          direct, rate, learnable, population (image observations: direct)
``decoder``          membrane, rate, learnable, population
``membrane_readout`` max, mean, last (only when decoder is membrane)
``beta``             0.2 .. 1.0
``threshold``        0.25 .. 2.0 (log scale)
==================== ==============================================================

``spiking_td3`` and ``spiking_ddpg`` also sample ``proxy_target`` (False, True), an algorithm
argument (:class:`~sb3_spiking.td3.proxy.ProxyTargetMixin`), not a policy option.

The converters turn a finished trial's raw parameters back into hyperparameters (what
``rl_zoo3 train ... --storage S --study-name N --trial-id K`` loads).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sb3_spiking.snn.decoders import DECODERS
from sb3_spiking.snn.encoders import ENCODERS
from sb3_spiking.snn.neurons import LeakyReadout

NUM_STEPS_CHOICES = (1, 2, 4, 5, 8, 16)
BETA_RANGE = (0.2, 1.0)
THRESHOLD_RANGE = (0.25, 2.0)
#: Names of the trial parameters this module adds (Optuna parameter names).
SPIKING_PARAMS = ("num_steps", "encoder", "decoder", "membrane_readout", "beta", "threshold")


def sample_spiking_params(trial: Any, image_observations: bool = False) -> dict[str, Any]:
    """Sample the spiking options (a ``policy_kwargs`` fragment) for one Optuna ``trial``.

    :param image_observations: only the direct encoder can read raw pixels (the spiking Nature
        CNN takes pixels as input current), so the encoder is not tuned then.
    """
    encoders = ("direct",) if image_observations else ENCODERS
    params: dict[str, Any] = {
        "num_steps": trial.suggest_categorical("num_steps", list(NUM_STEPS_CHOICES)),
        "encoder": trial.suggest_categorical("encoder", list(encoders)),
        "decoder": trial.suggest_categorical("decoder", list(DECODERS)),
    }
    if params["decoder"] == "membrane":
        params["membrane_readout"] = trial.suggest_categorical("membrane_readout", list(LeakyReadout.READOUTS))
    params["beta"] = trial.suggest_float("beta", *BETA_RANGE)
    params["threshold"] = trial.suggest_float("threshold", *THRESHOLD_RANGE, log=True)
    return params


def _image_observations(manager: Any) -> bool:
    if manager is None:
        return False
    if manager.is_atari(manager.env_name.gym_id):
        return True
    policy = getattr(manager, "_hyperparams", {}).get("policy", "")
    return isinstance(policy, str) and "Cnn" in policy


class SpikingSampler:
    """RL Zoo's sampler of the ANN twin, plus :func:`sample_spiking_params` in ``policy_kwargs``.

    :param base: the zoo's sampler, ``(trial, n_actions, n_envs, additional_args) -> dict``.
    :param current_manager: returns the running ``ExperimentManager`` (to see the environment).
    :param proxy_target: also sample the algorithm argument ``proxy_target`` (TD3/DDPG).
    """

    def __init__(
        self,
        base: Callable[..., dict[str, Any]],
        current_manager: Callable[[], Any] = lambda: None,
        proxy_target: bool = False,
    ) -> None:
        self.base = base
        self.current_manager = current_manager
        self.proxy_target = proxy_target

    def __call__(self, trial: Any, n_actions: int, n_envs: int, additional_args: dict[str, Any]) -> dict[str, Any]:
        hyperparams = self.base(trial, n_actions, n_envs, additional_args)
        spiking = sample_spiking_params(trial, _image_observations(self.current_manager()))
        hyperparams["policy_kwargs"] = {**hyperparams.get("policy_kwargs", {}), **spiking}
        if self.proxy_target:
            hyperparams["proxy_target"] = trial.suggest_categorical("proxy_target", [False, True])
        return hyperparams

    def __repr__(self) -> str:
        return f"SpikingSampler({getattr(self.base, '__name__', self.base)})"


class SpikingConverter:
    """RL Zoo's converter of the ANN twin, with the spiking trial parameters put back into
    ``policy_kwargs`` (and ``proxy_target``, where sampled, back among the algorithm arguments)."""

    def __init__(self, base: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self.base = base

    def __call__(self, sampled_params: dict[str, Any]) -> dict[str, Any]:
        params = dict(sampled_params)
        spiking = {name: params.pop(name) for name in SPIKING_PARAMS if name in params}
        proxy = {"proxy_target": params.pop("proxy_target")} if "proxy_target" in params else {}
        hyperparams = self.base(params)
        hyperparams["policy_kwargs"] = {**hyperparams.get("policy_kwargs", {}), **spiking}
        return {**hyperparams, **proxy}

    def __repr__(self) -> str:
        return f"SpikingConverter({getattr(self.base, '__name__', self.base)})"
