"""ANN-to-SNN conversion of trained DQN agents (Tan, Patel & Kozma, AAAI 2021).

A trained SB3 ``DQN`` (``MlpPolicy`` or ``CnnPolicy``, ReLU activations) becomes a :class:`DSQN`
of integrate-and-fire neurons, without training:

1. the DQN plays the calibration env at epsilon = 0.05 and its layer outputs are recorded;
2. each layer ``l`` gets a scale ``lam_l``, the ``percentile``-th percentile of its recorded
   activations (data-based normalisation, Rueckauer et al. 2017), and its weights and biases are
   rescaled ``W_l <- W_l * lam_{l-1} / lam_l``, ``b_l <- b_l / lam_l`` (``lam_0 = 1``: the
   observation enters unscaled). A ReLU unit whose activation is ``a`` then fires at about
   ``a / lam_l`` spikes per step, which threshold 1 caps at one per step (the top
   ``100 - percentile`` percent saturate);
3. the network is the engine's own: :class:`~sb3_spiking.snn.LIF` neurons with ``beta=1`` (IF),
   subtractive reset and threshold 1, the observation as a constant input current (the
   ``"direct"`` encoder), and spiking output neurons read out as spike count + final membrane
   potential (the ``"spike_count"`` decoder), so ``Q_snn ~= T * Q_ann / lam_L``: the same
   greedy action, for large enough ``T``.

The result is an ordinary ``DSQN`` (``predict``, ``evaluate_policy``, ``save``/``load``,
``energy_report``); its spiking options sit in ``policy_kwargs`` and the scaled weights in the
state dict, so ``DSQN.load`` restores it exactly. ``model.conversion_report`` records the scales
and the ANN/SNN action agreement on held-out frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3 import DQN
from stable_baselines3.common.torch_layers import FlattenExtractor, NatureCNN
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.utils import check_for_correct_spaces
from stable_baselines3.common.vec_env import VecEnv
from torch import nn

from sb3_spiking.common.envs import as_vec_env
from sb3_spiking.dsqn import DSQN
from sb3_spiking.snn.network import NATURE_CNN_CONVS, SpikingMLP, SpikingNatureCNN
from sb3_spiking.snn.validation import check_int, check_real

#: Exploration rate of the calibration play (Tan et al.: the DQN's own evaluation epsilon).
CALIBRATION_EPS = 0.05
#: Activation values kept per layer for the percentile (a uniform random subsample beyond this:
#: the 99.9th percentile of 2M samples is within ~0.1% of the exact one, and a Nature-CNN conv1
#: over 10k frames would otherwise hold 128M floats).
MAX_ACTIVATION_SAMPLES = 2_000_000
#: Replay buffer of the converted model: it is built for inference, not for further training.
CONVERTED_BUFFER_SIZE = 1
#: DQN hyperparameters copied to the converted model (so its saved file describes the agent).
_COPIED_HYPERPARAMETERS = (
    "learning_rate",
    "learning_starts",
    "batch_size",
    "tau",
    "gamma",
    "train_freq",
    "gradient_steps",
    "n_steps",
    "target_update_interval",
    "exploration_fraction",
    "exploration_initial_eps",
    "exploration_final_eps",
    "max_grad_norm",
    "seed",
)


def _dqn_layers(model: Any) -> tuple[str, list[nn.Linear | nn.Conv2d], dict[str, Any]]:
    """Check ``model`` and return (DSQN policy name, its synaptic layers in forward order, the
    DSQN ``policy_kwargs`` that give the same shape); raise a clear error for what cannot be
    converted."""
    if isinstance(model, DSQN) and model.policy.spiking:
        raise TypeError("convert_dqn takes a trained ANN DQN; this model is already a spiking DSQN (its Q-network is spiking)")
    if not isinstance(model, DQN):
        raise TypeError(f"convert_dqn takes a stable_baselines3 DQN (MlpPolicy or CnnPolicy), got {type(model).__name__}")
    if not isinstance(model.action_space, spaces.Discrete):  # a DQN subclass could change this
        raise ValueError(f"convert_dqn needs a Discrete action space, got {model.action_space}")
    q_net = model.policy.q_net
    extractor = q_net.features_extractor
    head = list(q_net.q_net)
    activations = [m for m in head if not isinstance(m, nn.Linear)]
    if type(extractor) is NatureCNN:
        activations += [m for m in extractor.cnn if not isinstance(m, (nn.Conv2d, nn.Flatten))]
        activations += [m for m in extractor.linear if not isinstance(m, nn.Linear)]
    bad = [type(m).__name__ for m in activations if type(m) is not nn.ReLU]
    if bad:
        raise ValueError(
            f"convert_dqn needs ReLU activations (activation_fn=nn.ReLU, SB3's DQN default); "
            f"the Q-network uses {sorted(set(bad))}"
        )
    linears = [m for m in head if isinstance(m, nn.Linear)]
    if not linears or not isinstance(head[-1], nn.Linear) or len(head) != 2 * len(linears) - 1:
        raise ValueError(f"convert_dqn needs a Q-network of the form Linear (ReLU Linear)*, got {q_net.q_net}")
    net_arch = [layer.out_features for layer in linears[:-1]]
    spiking = {
        "num_steps": 1,  # set by convert_dqn
        "encoder": "direct",
        "decoder": "spike_count",
        "beta": 1.0,
        "threshold": 1.0,
        "reset_mechanism": "subtract",
    }
    if type(extractor) is FlattenExtractor:
        if not net_arch:
            raise ValueError(
                "convert_dqn needs at least one hidden layer in the DQN's net_arch (a spiking MLP has hidden spiking layers)"
            )
        return "MlpPolicy", linears, dict(net_arch=net_arch, normalize_images=model.policy.normalize_images, **spiking)
    if type(extractor) is NatureCNN:
        convs = [m for m in extractor.cnn if isinstance(m, nn.Conv2d)]
        fc1 = extractor.linear[0]
        policy = model.policy
        image_kwargs = {"features_dim": fc1.out_features}
        if not policy.normalize_images:
            image_kwargs["normalized_image"] = True
        policy_kwargs = dict(
            net_arch=net_arch,
            normalize_images=policy.normalize_images,
            features_extractor_kwargs=image_kwargs,
            **spiking,
        )
        return "CnnPolicy", [*convs, fc1, *linears], policy_kwargs
    raise ValueError(
        f"convert_dqn supports DQN's MlpPolicy (FlattenExtractor) and CnnPolicy (NatureCNN); "
        f"this DQN's features extractor is {type(extractor).__name__} (e.g. MultiInputPolicy for Dict observations)"
    )


def record_frames(model: DQN, env: GymEnv, n_frames: int, eps: float = CALIBRATION_EPS, seed: int | None = 0) -> np.ndarray:
    """Observations of ``model`` playing ``env`` epsilon-greedily (greedy action from
    ``model.predict``, a uniformly random one with probability ``eps``), ``[n_frames, *obs_shape]``
    in the model's observation layout.

    :param model: the agent (any SB3 model with a Discrete action space).
    :param env: a Gymnasium or SB3 vectorised env with the model's spaces.
    :param n_frames: observations to record (>= 1).
    :param eps: exploration rate of the play.
    :param seed: seeds the env's first reset and the exploration coin.
    """
    n_frames = check_int("n_frames", n_frames)
    vec_env = _checked_env(model, env)
    rng = np.random.default_rng(seed)
    if seed is not None:
        vec_env.seed(seed)
    obs = vec_env.reset()
    frames: list[np.ndarray] = []
    n_actions = int(model.action_space.n)
    while len(frames) < n_frames:
        frames.extend(np.asarray(obs)[: n_frames - len(frames)])
        actions, _ = model.predict(obs, deterministic=True)
        explore = rng.random(vec_env.num_envs) < eps
        actions = np.where(explore, rng.integers(n_actions, size=vec_env.num_envs), actions)
        obs, _, _, _ = vec_env.step(actions)
    return np.stack(frames)


def _checked_env(model: Any, env: GymEnv) -> VecEnv:
    vec_env = as_vec_env(env)
    try:
        check_for_correct_spaces(vec_env, model.observation_space, model.action_space)
    except ValueError as error:
        raise ValueError(f"calibration env does not fit the model: {error}") from None
    return vec_env


def _checked_frames(model: Any, frames: Any) -> np.ndarray:
    frames = np.asarray(frames)
    space = model.observation_space
    if frames.ndim != len(space.shape) + 1 or frames.shape[1:] != space.shape:
        raise ValueError(
            f"calibration observations must be an array of shape (n, {', '.join(map(str, space.shape))}) "
            f"matching the model's observation space {space}, got shape {frames.shape}"
        )
    if len(frames) < 1:
        raise ValueError("calibration must hold at least one observation")
    if not (np.issubdtype(frames.dtype, np.number) or frames.dtype == bool):
        raise ValueError(f"calibration observations must be numbers, got dtype {frames.dtype}")
    if np.issubdtype(frames.dtype, np.inexact) and not np.isfinite(frames).all():
        raise ValueError("calibration observations contain NaN or inf")
    return frames


def _greedy_actions(model: Any, observations: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate(
        [
            model.predict(observations[i : i + batch_size], deterministic=True)[0]
            for i in range(0, len(observations), batch_size)
        ]
    )


def _snn_batch_size(model: Any) -> int:
    """Rows per ``predict`` call that keep a spiking Q-network's ``[T, B, neurons]`` spike
    tensors near 100 MB (256 for an ANN)."""
    net = getattr(getattr(model, "q_net", None), "q_net", None)
    if not isinstance(net, (SpikingMLP, SpikingNatureCNN)):
        return 256
    neurons = max(net.hidden_sizes)
    if isinstance(net, SpikingNatureCNN):
        channels, kernel, stride = NATURE_CNN_CONVS[0]
        _, height, width = net.image_shape
        neurons = max(neurons, channels * ((height - kernel) // stride + 1) * ((width - kernel) // stride + 1))
    return int(np.clip(25_000_000 // (net.num_steps * neurons), 1, 256))


def action_agreement(reference: Any, candidate: Any, observations: np.ndarray, batch_size: int | None = None) -> float:
    """Fraction of ``observations`` on which both models' greedy actions (``predict``,
    ``deterministic=True``) are the same.

    :param reference: e.g. the trained DQN.
    :param candidate: e.g. its converted DSQN.
    :param observations: a batch in the models' observation layout.
    :param batch_size: observations per ``predict`` call (default: sized for the larger network).
    """
    size = batch_size or min(_snn_batch_size(reference), _snn_batch_size(candidate))
    a = _greedy_actions(reference, observations, size)
    b = _greedy_actions(candidate, observations, size)
    return float(np.mean(a == b))


def layer_scales(model: DQN, observations: np.ndarray, percentile: float = 99.9, seed: int | None = 0) -> list[float]:
    """The normalisation scale of every synaptic layer of ``model``'s Q-network, in forward order:
    the ``percentile``-th percentile of its ReLU activations (all units, all observations) for
    hidden layers, of ``|Q|`` for the output layer. A layer that never activates gets its
    maximum, or 1 if that is 0 too.

    :param model: a DQN that :func:`convert_dqn` accepts.
    :param observations: calibration batch in the model's observation layout.
    :param percentile: in (0, 100].
    :param seed: seeds the subsample of very large layers (see ``MAX_ACTIVATION_SAMPLES``).
    """
    _, layers, _ = _dqn_layers(model)
    percentile = check_real("percentile", percentile, 0.0, 100.0, low_open=True, note="99.9 in Tan et al.")
    observations = _checked_frames(model, observations)
    rng = np.random.default_rng(seed)
    n = len(observations)
    batch = 256 if layers[0].__class__ is nn.Linear else 32
    samples: list[list[np.ndarray]] = [[] for _ in layers]
    current: dict[int, th.Tensor] = {}
    hooks = [layer.register_forward_hook(lambda m, i, o, k=k: current.__setitem__(k, o)) for k, layer in enumerate(layers)]
    policy = model.policy
    was_training = policy.training
    policy.set_training_mode(False)
    try:
        with th.no_grad():
            for start in range(0, n, batch):
                obs, _ = policy.obs_to_tensor(observations[start : start + batch])
                policy.q_net(obs)
                rows = obs.shape[0]
                for k in range(len(layers)):
                    out = current[k]
                    values = out.abs() if k == len(layers) - 1 else out.clamp_min(0.0)
                    values = values.flatten().cpu().numpy()
                    keep = int(np.ceil(MAX_ACTIVATION_SAMPLES * rows / n))
                    if values.size > keep:
                        values = rng.choice(values, size=keep, replace=False)
                    samples[k].append(values)
    finally:
        for hook in hooks:
            hook.remove()
        policy.set_training_mode(was_training)
    scales = []
    for chunks in samples:
        values = np.concatenate(chunks)
        scale = float(np.percentile(values, percentile))
        if scale <= 0.0:
            scale = float(values.max()) or 1.0
        scales.append(scale)
    return scales


def _new_dsqn(model: DQN, policy: str, policy_kwargs: dict[str, Any]) -> DSQN:
    """A DSQN with ``model``'s spaces and hyperparameters, without an env (as ``DSQN.load``)."""
    hyper = {name: getattr(model, name) for name in _COPIED_HYPERPARAMETERS if hasattr(model, name)}
    snn = DSQN(
        policy,
        env=None,
        buffer_size=CONVERTED_BUFFER_SIZE,
        policy_kwargs=policy_kwargs,
        device=model.device,
        _init_setup_model=False,
        **hyper,
    )
    snn.observation_space, snn.action_space, snn.n_envs = model.observation_space, model.action_space, 1
    snn._setup_model()
    return snn


def convert_dqn(
    model: DQN,
    calibration: GymEnv | np.ndarray,
    num_steps: int = 500,
    percentile: float = 99.9,
    *,
    n_frames: int = 10_000,
    held_out: float = 0.2,
    seed: int | None = 0,
    verbose: int = 0,
) -> DSQN:
    """Convert a trained DQN into a DSQN of integrate-and-fire neurons (see the module docstring).

    >>> snn = convert_dqn(DQN.load("dqn_cartpole"), gym.make("CartPole-v1"), num_steps=500)
    >>> snn.conversion_report["agreement"], snn.predict(obs, deterministic=True)

    :param model: a trained ``DQN`` with ``MlpPolicy`` (at least one hidden layer) or
        ``CnnPolicy`` (SB3's NatureCNN), ReLU activations.
    :param calibration: an env with the model's spaces, which the DQN plays at epsilon 0.05 for
        ``n_frames`` observations; or an array of observations ``[n, *obs_shape]`` in play order.
        The last ``held_out`` fraction is not used for the scales but for the action agreement.
    :param num_steps: T, simulation steps per decision (Tan et al.: 500).
    :param percentile: percentile of each layer's activations used as its scale, in (0, 100].
    :param n_frames: observations recorded when ``calibration`` is an env (Tan et al.: ~15,000).
    :param held_out: fraction of the frames kept for the agreement, in [0, 1).
    :param seed: seeds the calibration play and the subsampling of large layers.
    :param verbose: 1 prints the scales and the agreement.
    :return: the converted model; ``model.conversion_report`` holds ``num_steps``,
        ``percentile``, ``scales`` (one per synaptic layer), ``n_calibration_frames``,
        ``n_held_out_frames`` and ``agreement`` (None without held-out frames).
    """
    policy_name, layers, policy_kwargs = _dqn_layers(model)
    num_steps = check_int("num_steps", num_steps)
    percentile = check_real("percentile", percentile, 0.0, 100.0, low_open=True, note="99.9 in Tan et al.")
    held_out = check_real("held_out", held_out, 0.0, 1.0, high_open=True, note="fraction of the frames held out")
    if isinstance(calibration, (np.ndarray, list, tuple)):
        frames = _checked_frames(model, calibration)
    elif hasattr(calibration, "step") and hasattr(calibration, "reset"):
        frames = record_frames(model, calibration, n_frames, CALIBRATION_EPS, seed)
    else:
        raise TypeError(
            "calibration must be an env (gymnasium.Env or VecEnv) or an array of observations, "
            f"got {type(calibration).__name__}"
        )
    n_held = round(held_out * len(frames))
    calib, held = frames[: len(frames) - n_held], frames[len(frames) - n_held :]
    if len(calib) == 0:
        raise ValueError(f"no calibration frames left: {len(frames)} frames with held_out={held_out}")

    scales = layer_scales(model, calib, percentile, seed)
    snn = _new_dsqn(model, policy_name, {**policy_kwargs, "num_steps": num_steps})
    body = snn.q_net.q_net
    targets = [*getattr(body, "convs", []), *body.fcs, body.decoder.linear]
    with th.no_grad():
        previous = 1.0
        for ann, target, scale in zip(layers, targets, scales, strict=True):
            if ann.weight.shape != target.weight.shape:  # pragma: no cover (a bug, not bad input)
                raise RuntimeError(f"layer shapes differ: {tuple(ann.weight.shape)} vs {tuple(target.weight.shape)}")
            target.weight.copy_(ann.weight * (previous / scale))
            target.bias.copy_(ann.bias / scale)
            previous = scale
    snn.q_net_target.load_state_dict(snn.q_net.state_dict())
    snn.policy.set_training_mode(False)

    agreement = action_agreement(model, snn, held) if len(held) else None
    snn.conversion_report = {
        "num_steps": num_steps,
        "percentile": percentile,
        "scales": [float(s) for s in scales],
        "n_calibration_frames": len(calib),
        "n_held_out_frames": len(held),
        "agreement": agreement,
    }
    if verbose:
        shown = "n/a" if agreement is None else f"{agreement:.4f} on {len(held)} held-out frames"
        print(f"convert_dqn: T={num_steps}, percentile {percentile}, scales {np.round(scales, 3).tolist()}, agreement {shown}")
    return snn
