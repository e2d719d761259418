"""The decision-transformer policy: the (spiking) transformer, a reward head, normalisation."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.preprocessing import is_image_space
from stable_baselines3.common.type_aliases import PyTorchObs, Schedule
from torch import nn
from torch.distributions import Categorical, Distribution, Normal

from sb3_spiking.common.mixins import SpikingPolicyMixin
from sb3_spiking.dt.transformer import ATTENTIONS, DecisionTransformerNet
from sb3_spiking.snn.validation import check_bool, check_choice, check_int, check_real

#: Spiking options that have no meaning in the transformer (tokens enter as real-valued
#: embeddings; the action head reads the real-valued residual stream), with their only value.
_FIXED_OPTIONS: dict[str, Any] = {
    "encoder": "direct",
    "decoder": "membrane",
    "membrane_readout": None,
    "encoder_kwargs": None,
    "decoder_kwargs": None,
    "neuron": "lif",
    "spiking_critic": False,
}

#: Initial log standard deviation of the Gaussian over Box actions (scaled space), used by
#: ``predict(deterministic=False)`` and REINFORCE fine-tuning; offline training fits the mean only.
LOG_STD_INIT = -1.0


def check_observation_space(space: spaces.Space, who: str = "SpikingDecisionTransformer") -> None:
    """Vector Box observations only, with a clear "unsupported" message otherwise."""
    if isinstance(space, spaces.Dict):
        raise ValueError(
            f"{who} does not support Dict observation spaces (unsupported: {space}); flatten them first, e.g. with "
            "gymnasium.wrappers.FlattenObservation, both when collecting the dataset and when evaluating"
        )
    if not isinstance(space, spaces.Box):
        raise ValueError(f"{who} supports only Box (vector) observation spaces; {space} is unsupported")
    if is_image_space(space, check_channels=False):
        raise ValueError(f"{who} supports vector observations; image observations {space} are unsupported (no CNN tokeniser)")


def check_action_space(space: spaces.Space, who: str = "SpikingDecisionTransformer") -> None:
    if not isinstance(space, (spaces.Discrete, spaces.Box)):
        raise ValueError(f"{who} supports Discrete and Box action spaces; {space} is unsupported")


class DecisionTransformerPolicy(SpikingPolicyMixin, BasePolicy):
    """A decision transformer (spiking by default) with the SB3 policy interface.

    Holds the transformer (:class:`~sb3_spiking.dt.transformer.DecisionTransformerNet`), a small ANN
    reward model ``r(s, a, s')`` (used to decrement the return-to-go when the caller does not
    supply rewards, see :meth:`SpikingDecisionTransformer.predict`), the dataset's observation
    statistics and return/reward scales (buffers: saved with the model), and for Box actions a
    state-independent log-std (sampling and fine-tuning only).

    ``_predict`` (SB3's single-call interface, used by ``energy_report`` and
    ``SpikeStatsCallback``) acts from a one-step context: each observation is treated as the first
    step of an episode with return-to-go ``target_return``. Acting over episodes with a context
    window is the algorithm's ``predict``.

    :param observation_space: Box observations.
    :param action_space: Discrete or Box actions.
    :param lr_schedule: learning-rate schedule (the optimizer starts at ``lr_schedule(1)``).
    :param max_ep_len: size of the timestep embedding.
    :param hidden_dim: model width (SNN-DT: 128).
    :param n_layers: transformer blocks (SNN-DT: 2).
    :param n_heads: attention heads (SNN-DT: 1).
    :param dropout: dropout probability (DT: 0.1).
    :param attention: ``"softmax"`` (spike-count scores + softmax, the seed) or ``"spike_driven"``
        (softmax-free); spiking only.
    :param spiking_ffn: LIF hidden units in the feed-forward layers (spiking only).
    :param reward_arch: hidden widths of the reward model (ANN).
    :param optimizer_class: optimizer (default AdamW, as the DT).
    :param optimizer_kwargs: its keyword arguments (default ``weight_decay=1e-4``).
    :param spiking_kwargs: the spiking options (``num_steps``, ``beta``, ``threshold``, ``surrogate``,
        ``learn_beta``, ``learn_threshold``, ``reset_mechanism``, ``detach_reset``) and
        ``spiking=False`` for the ANN decision transformer.
    """

    def __init__(
        self,
        observation_space: spaces.Box,
        action_space: spaces.Discrete | spaces.Box,
        lr_schedule: Schedule,
        max_ep_len: int = 1000,
        hidden_dim: int = 128,
        n_layers: int = 2,
        n_heads: int = 1,
        dropout: float = 0.1,
        attention: str = "softmax",
        spiking_ffn: bool = True,
        reward_arch: list[int] | tuple[int, ...] = (64, 64),
        optimizer_class: type[th.optim.Optimizer] = th.optim.AdamW,
        optimizer_kwargs: dict[str, Any] | None = None,
        **spiking_kwargs: Any,
    ) -> None:
        self._init_spiking(spiking_kwargs)
        for name, fixed in _FIXED_OPTIONS.items():
            value = getattr(self, name, None) if name == "spiking_critic" else getattr(self.spiking_options, name)
            if value != fixed:
                raise ValueError(
                    f"policy_kwargs {name}={value!r} does not apply to the decision transformer (tokens enter as "
                    f"real-valued embeddings, the action head reads the residual stream; for an ANN use spiking=False); "
                    f"leave it at {fixed!r}"
                )
        check_observation_space(observation_space)
        check_action_space(action_space)
        if optimizer_kwargs is None:
            optimizer_kwargs = {"weight_decay": 1e-4}
        super().__init__(
            observation_space,
            action_space,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            squash_output=isinstance(action_space, spaces.Box),
        )
        self.max_ep_len = check_int("max_ep_len", max_ep_len)
        self.hidden_dim = check_int("hidden_dim", hidden_dim)
        self.n_layers = check_int("n_layers", n_layers)
        self.n_heads = check_int("n_heads", n_heads)
        self.dropout = check_real("dropout", dropout, 0.0, 1.0, high_open=True)
        self.attention = check_choice("attention", attention, ATTENTIONS)
        self.spiking_ffn = check_bool("spiking_ffn", spiking_ffn)
        self.reward_arch = [check_int("reward_arch entry", w) for w in reward_arch]

        self.discrete = isinstance(action_space, spaces.Discrete)
        self.obs_dim = int(np.prod(observation_space.shape))
        self.action_dim = int(action_space.n) if self.discrete else int(np.prod(action_space.shape))
        self.net = DecisionTransformerNet(
            self.obs_dim,
            self.action_dim,
            self.discrete,
            self.max_ep_len,
            self.hidden_dim,
            self.n_layers,
            self.n_heads,
            self.dropout,
            self.spiking_options if self.spiking else None,
            self.attention,
            self.spiking_ffn,
        )
        widths = [2 * self.obs_dim + self.action_dim, *self.reward_arch]
        layers: list[nn.Module] = []
        for w_in, w_out in itertools.pairwise(widths):
            layers += [nn.Linear(w_in, w_out), nn.ReLU()]
        self.reward_net = nn.Sequential(*layers, nn.Linear(widths[-1], 1))
        self.log_std = nn.Parameter(th.full((self.action_dim,), LOG_STD_INIT), requires_grad=not self.discrete)
        # Dataset statistics, set by the algorithm from its dataset (saved in the state dict).
        self.register_buffer("obs_mean", th.zeros(self.obs_dim))
        self.register_buffer("obs_std", th.ones(self.obs_dim))
        self.register_buffer("return_scale", th.ones(()))
        self.register_buffer("reward_scale", th.ones(()))
        #: return-to-go of a one-step context in ``_predict`` (the algorithm keeps it in sync).
        self.target_return = 0.0
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            max_ep_len=self.max_ep_len,
            hidden_dim=self.hidden_dim,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            dropout=self.dropout,
            attention=self.attention,
            spiking_ffn=self.spiking_ffn,
            reward_arch=self.reward_arch,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
        )
        return data

    # -- statistics and encodings -----------------------------------------------------------
    def set_statistics(self, obs_mean: np.ndarray, obs_std: np.ndarray, return_scale: float, reward_scale: float) -> None:
        """Observation mean/std and the return and reward scales of the training data."""
        with th.no_grad():
            self.obs_mean.copy_(th.as_tensor(obs_mean, dtype=th.float32).reshape(-1))
            self.obs_std.copy_(th.as_tensor(obs_std, dtype=th.float32).reshape(-1))
            self.return_scale.fill_(float(return_scale))
            self.reward_scale.fill_(float(reward_scale))

    def normalize_obs(self, obs: th.Tensor) -> th.Tensor:
        """Flattened observations ``[..., obs_dim]`` -> z-scored with the dataset's statistics."""
        return (obs.float() - self.obs_mean) / self.obs_std

    def encode_actions_for_reward(self, actions: th.Tensor) -> th.Tensor:
        """Context actions (indices or scaled) -> reward-model input (one-hot or scaled)."""
        if self.discrete:
            return nn.functional.one_hot(actions.long(), self.action_dim).float()
        return actions.float()

    def context_forward(
        self,
        observations: th.Tensor,
        actions: th.Tensor,
        returns_to_go: th.Tensor,
        timesteps: th.Tensor,
        valid: th.Tensor | None = None,
        last_only: bool = False,
    ) -> th.Tensor:
        """Transformer outputs (logits, or pre-tanh means for Box) from raw contexts.

        :param observations: raw flattened observations ``[B, L, obs_dim]``.
        :param actions: ``[B, L]`` indices or ``[B, L, act_dim]`` scaled to [-1, 1].
        :param returns_to_go: returns-to-go in reward units ``[B, L]``.
        :param timesteps: ``[B, L]`` episode step of each entry.
        :param valid: bool ``[B, L]`` (False: left padding) or None.
        :param last_only: outputs for the last step only (``[B, out]``).
        """
        return self.net(
            self.normalize_obs(observations),
            actions.long() if self.discrete else actions.float(),
            returns_to_go.float() / self.return_scale,
            timesteps.long().clamp(0, self.max_ep_len - 1),
            valid,
            last_only,
        )

    def distribution(self, output: th.Tensor) -> Distribution:
        """Action distribution of transformer outputs: Categorical (Discrete) or a Gaussian around
        ``tanh(output)`` with std ``exp(log_std)`` in the scaled space (Box)."""
        if self.discrete:
            return Categorical(logits=output)
        return Normal(th.tanh(output), self.log_std.exp().expand_as(output))

    def select_actions(self, output: th.Tensor, deterministic: bool) -> tuple[th.Tensor, th.Tensor]:
        """(context actions: indices or scaled in [-1, 1] as executed, raw scaled samples before
        clipping) from transformer outputs."""
        if self.discrete:
            actions = output.argmax(-1) if deterministic else Categorical(logits=output).sample()
            return actions, actions
        mean = th.tanh(output)
        if deterministic:
            return mean, mean
        raw = mean + self.log_std.exp() * th.randn_like(mean)
        return raw.clamp(-1.0, 1.0), raw

    def to_env_actions(self, actions: np.ndarray) -> np.ndarray:
        """Context actions -> actions for ``env.step`` (Box: unscaled to the bounds and reshaped)."""
        if self.discrete:
            return actions.astype(np.int64)
        assert isinstance(self.action_space, spaces.Box)
        return self.unscale_action(actions).reshape(-1, *self.action_space.shape).astype(self.action_space.dtype)

    def predict_reward(self, obs: th.Tensor, actions: th.Tensor, next_obs: th.Tensor) -> th.Tensor:
        """Predicted reward (reward units) of transitions ``(s, a, s')`` (raw observations)."""
        x = th.cat([self.normalize_obs(obs), self.encode_actions_for_reward(actions), self.normalize_obs(next_obs)], -1)
        return self.reward_net(x).squeeze(-1) * self.reward_scale

    # -- SB3's policy interface -------------------------------------------------------------
    def _predict(self, observation: PyTorchObs, deterministic: bool = True) -> th.Tensor:
        """Actions from a one-step context per observation (first step of an episode, return-to-go
        ``target_return``): SB3's single-call interface (``energy_report``, ``SpikeStatsCallback``)."""
        assert isinstance(observation, th.Tensor)
        obs = observation.reshape(observation.shape[0], 1, self.obs_dim)
        batch = obs.shape[0]
        placeholder = (
            th.zeros(batch, 1, dtype=th.long, device=obs.device)
            if self.discrete
            else th.zeros(batch, 1, self.action_dim, device=obs.device)
        )
        rtg = th.full((batch, 1), float(self.target_return), device=obs.device)
        steps = th.zeros(batch, 1, dtype=th.long, device=obs.device)
        output = self.context_forward(obs, placeholder, rtg, steps, None, last_only=True)
        actions, _ = self.select_actions(output, deterministic)
        return actions  # Box: in [-1, 1]; SB3's predict unscales (squash_output=True)

    def forward(self, obs: th.Tensor, deterministic: bool = True) -> th.Tensor:  # type: ignore[override]
        return self._predict(obs, deterministic)


#: SB3-style alias (a decision transformer takes vector observations).
MlpPolicy = DecisionTransformerPolicy
