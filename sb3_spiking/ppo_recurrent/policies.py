"""Spiking recurrent actor-critic policies for sb3-contrib's ``RecurrentPPO``.

``RecurrentPPO(SpikingRecurrentActorCriticPolicy, env, policy_kwargs=dict(num_steps=2))``: the actor
is a :class:`~sb3_spiking.snn.stateful.StatefulSpikingMLP` whose hidden LIF membranes carry on from
one env step to the next. The membrane travels exactly where an LSTM's ``(h, c)`` go:
RecurrentPPO's state tuples, its rollout buffer (sequences are replayed from the stored state at
their start, with backpropagation through the carried membranes) and ``predict``'s ``state``
argument; it is set to rest at ``episode_start``, where RecurrentPPO resets its LSTM. Nothing is
kept in a module.

The value side is sb3-contrib's: its own ANN LSTM (``enable_critic_lstm=True``, the default, with
``lstm_hidden_size``/``n_lstm_layers``) followed by the ``vf`` MLP, or ``spiking_critic=True``: a
second stateful spiking network on the features that outputs the value, its membranes in the
critic's state.

State layout. RecurrentPPO sizes every state tensor from ``policy.lstm_actor.num_layers`` and
``.hidden_size``, the same for actor and critic. Here ``lstm_actor`` is the spiking actor, and
those two numbers are the layout shared by both sides: ``num_layers`` = the critic LSTM's layers
(1 without one), ``hidden_size`` = the largest of the actor's membrane count (sum of the ``pi``
widths), the critic LSTM's hidden size or the spiking critic's membrane count. A spiking network
keeps its membranes in ``h[0, :, :state_size]``; an LSTM its ``(h, c)`` in
``[:n_lstm_layers, :, :lstm_hidden_size]``; the rest stays zero. With recurrent synapses (the
default) a spiking network's ``c[0, :, :state_size]`` holds its layers' last spikes, which the
recurrent synapses read at the next step; without them ``c`` stays zero (a LIF neuron needs only
its membrane).

Why recurrent synapses by default (``recurrent_synapses=True``: snnTorch ``RLeaky``-style
all-to-all synapses from each hidden layer's spikes onto itself, one SNN step later, across env
steps too): measured with ``benchmarks/recurrent_memory_probe.py`` (recover CartPole's two
velocities from its two positions, T=2, one hidden layer of 64, 600 Adam steps), held-out R^2
0.60 / 0.58 with them against 0.20 / 0.27 with the membrane alone, which is no better than a
stateless network (0.20 / 0.27): a leaky membrane with one decay per layer low-pass filters the
input but cannot take the difference of successive observations, a recurrent synapse can. And on
CartPoleNoVel-v1 with RL Zoo's ppo_lstm settings the membrane-only policy stayed at 34-42 return
over its first 40k steps (``benchmarks/results/recurrent_membrane_only.jsonl``).
"""

from __future__ import annotations

from typing import Any

import torch as th
from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentActorCriticPolicy
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import (
    BaseFeaturesExtractor,
    CombinedExtractor,
    FlattenExtractor,
    MlpExtractor,
    NatureCNN,
)
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from sb3_spiking.common.mixins import SpikingPolicyMixin, with_features_extractor
from sb3_spiking.common.options import flat_feature_bounds
from sb3_spiking.common.policies import SpikingSDEMixin, action_param_dim
from sb3_spiking.snn.decoders import PopulationDecoder
from sb3_spiking.snn.stateful import StatefulSpikingMLP


def _split_arch(net_arch: list[int] | dict[str, list[int]]) -> tuple[list[int], list[int]]:
    if isinstance(net_arch, dict):
        return list(net_arch.get("pi", [])), list(net_arch.get("vf", []))
    return list(net_arch), list(net_arch)


class SpikingRecurrentActorCriticPolicy(SpikingSDEMixin, SpikingPolicyMixin, RecurrentActorCriticPolicy):
    """sb3-contrib's ``RecurrentActorCriticPolicy`` whose actor is a spiking network with memory.

    >>> model = RecurrentPPO(SpikingRecurrentActorCriticPolicy, "CartPole-v1", policy_kwargs=dict(num_steps=2))

    ``net_arch``'s ``pi`` list gives the spiking actor's hidden layers (default ``[64, 64]``), whose
    decoder outputs the distribution's parameters (logits, or the Gaussian mean with SB3's
    ``log_std``); ``vf`` (default ``[64, 64]``) is the MLP after the critic LSTM, as in sb3-contrib, or the spiking
    critic's hidden layers with ``spiking_critic=True``. ``num_steps`` SNN steps run per env step
    (small is enough: the membrane integrates across env steps). Other parameters as
    sb3-contrib's policy, plus the spiking options (docs/guide/spiking_options.md); ``spiking=False`` gives
    sb3-contrib's LSTM policy unchanged (the ANN twin).

    With ``use_sde=True`` (gSDE, Box actions; RL Zoo's PendulumNoVel-v1 entry uses it) the noise
    is drawn from each decision's firing rates of the actor's last hidden layer (spike count / T),
    as in :class:`~sb3_spiking.SpikingActorCriticPolicy`: the real-valued summary of the layer the
    decoder reads, computed in the same stateful forward, so it carries the memory too.

    Not supported with a spiking actor (clear errors): ``shared_lstm=True`` (the actor's output is
    the distribution, not a latent a critic could share), ``neuron="relu"`` (no membrane to carry).
    ``spiking_critic=True`` needs ``enable_critic_lstm=True`` (the spiking critic takes the critic
    LSTM's place).

    :param recurrent_synapses: add all-to-all synapses from each spiking hidden layer's spikes
        onto itself, one SNN step later (default True; see the module docstring for the measured
        reason); ``False``: the membrane is the only memory.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.Tanh,
        ortho_init: bool = True,
        use_sde: bool = False,
        log_std_init: float = 0.0,
        full_std: bool = True,
        use_expln: bool = False,
        squash_output: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        share_features_extractor: bool = True,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        lstm_hidden_size: int = 256,
        n_lstm_layers: int = 1,
        shared_lstm: bool = False,
        enable_critic_lstm: bool = True,
        lstm_kwargs: dict[str, Any] | None = None,
        recurrent_synapses: bool = True,
        **spiking_kwargs: Any,
    ) -> None:
        self._init_spiking(spiking_kwargs)
        if not isinstance(recurrent_synapses, bool):
            raise TypeError(f"recurrent_synapses must be True or False, got {recurrent_synapses!r}")
        self.recurrent_synapses = recurrent_synapses
        if self.spiking:
            self._refuse_unsupported_recurrent_args(shared_lstm, enable_critic_lstm)
            if net_arch is None:
                # SB3 puts no hidden layer after a CNN (nor after sb3-contrib's LSTM there); a spiking actor needs one.
                cnn = issubclass(features_extractor_class, NatureCNN)
                net_arch = dict(pi=[256], vf=[]) if cnn else dict(pi=[64, 64], vf=[64, 64])
            if not _split_arch(net_arch)[0]:
                raise ValueError(
                    "A spiking actor needs at least one hidden layer: give net_arch a non-empty 'pi' list, "
                    "e.g. net_arch=dict(pi=[64], vf=[64])"
                )
            if self.spiking_critic and not _split_arch(net_arch)[1]:
                raise ValueError("spiking_critic=True needs at least one hidden layer in net_arch's 'vf' list")
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch,
            activation_fn,
            ortho_init,
            use_sde,
            log_std_init,
            full_std,
            use_expln,
            squash_output,
            features_extractor_class,
            features_extractor_kwargs,
            share_features_extractor,
            normalize_images,
            optimizer_class,
            optimizer_kwargs,
            lstm_hidden_size,
            n_lstm_layers,
            shared_lstm,
            enable_critic_lstm,
            lstm_kwargs,
        )
        if self.spiking:
            self._build_spiking_memory(lr_schedule)

    def _refuse_unsupported_recurrent_args(self, shared_lstm: bool, enable_critic_lstm: bool) -> None:
        if shared_lstm:
            raise ValueError(
                "shared_lstm=True shares the actor's LSTM output with the critic; the spiking actor outputs "
                "the action distribution itself, there is no latent to share: use enable_critic_lstm=True "
                "(an ANN LSTM critic, the default) or spiking_critic=True"
            )
        if self.spiking_critic and not enable_critic_lstm:
            raise ValueError(
                "spiking_critic=True puts a stateful spiking critic where the critic LSTM goes: "
                "keep enable_critic_lstm=True (the default)"
            )
        if self.spiking_options.neuron != "lif":
            raise ValueError(
                f"The recurrent spiking policy carries LIF membranes between env steps: neuron must be 'lif', "
                f"got {self.spiking_options.neuron!r}"
            )

    def _build_mlp_extractor(self) -> None:
        if not self.spiking:
            super()._build_mlp_extractor()
            return
        # The spiking actor ends in the distribution's parameters: no MLP after it (pi=[]). The
        # critic keeps sb3-contrib's MLP after its LSTM, or none after a spiking critic.
        vf_arch = [] if self.spiking_critic else _split_arch(self.net_arch)[1]
        self.mlp_extractor = MlpExtractor(
            self.lstm_output_dim, net_arch=dict(pi=[], vf=vf_arch), activation_fn=self.activation_fn, device=self.device
        )

    def _make_spiking_net(self, out_features: int, hidden: list[int]) -> StatefulSpikingMLP:
        low, high = flat_feature_bounds(self.observation_space, self.pi_features_extractor, self.normalize_images)
        net = StatefulSpikingMLP(
            self.features_dim,
            out_features,
            hidden,
            self.spiking_options,
            low,
            high,
            recurrent_synapses=self.recurrent_synapses,
        )
        return net.to(self.device)

    def _build_spiking_memory(self, lr_schedule: Schedule) -> None:
        """Replace sb3-contrib's actor LSTM (and, with ``spiking_critic``, its critic LSTM) by
        stateful spiking networks, size the shared state layout, and rebuild the optimizer."""
        pi_arch, vf_arch = _split_arch(self.net_arch)
        actor = self._make_spiking_net(action_param_dim(self.action_space), pi_arch)
        decoder = actor.decoder
        if self.ortho_init and not isinstance(decoder, PopulationDecoder):
            # SB3's action_net init (orthogonal, gain 0.01): a near-uniform policy at start.
            nn.init.orthogonal_(decoder.linear.weight, gain=0.01)
            nn.init.zeros_(decoder.linear.bias)
        self.action_net = nn.Identity()
        if self._spiking_sde:
            # gSDE's exploration matrix is sized by the latent it multiplies: the last hidden layer.
            self._build_sde_log_std(pi_arch[-1])
        widths, layers = [actor.state_size], 1
        if self.spiking_critic:
            self.lstm_critic = self._make_spiking_net(1, vf_arch)
            self.value_net = nn.Identity()
            widths.append(self.lstm_critic.state_size)
        elif self.lstm_critic is not None:
            widths.append(self.lstm_critic.hidden_size)
            layers = self.lstm_critic.num_layers
        # What RecurrentPPO reads to size its state tensors and buffer (see the module docstring).
        actor.num_layers, actor.hidden_size = layers, max(widths)
        self.lstm_actor = actor
        self.lstm_hidden_state_shape = (layers, 1, max(widths))
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _process_sequence(  # type: ignore[override]
        self,
        features: th.Tensor,
        lstm_states: tuple[th.Tensor, th.Tensor],
        episode_starts: th.Tensor,
        lstm: nn.Module,
    ) -> tuple[th.Tensor, tuple[th.Tensor, th.Tensor]]:
        """sb3-contrib's sequence step for a spiking network or an LSTM in the shared layout.

        ``features`` are sequence-major (``n_seq`` sequences of equal, padded length, as the
        buffer stores them; length 1 during rollouts), the states ``[layers, n_seq, width]``.
        """
        if not self.spiking:
            return RecurrentActorCriticPolicy._process_sequence(features, lstm_states, episode_starts, lstm)
        h, c = lstm_states
        n_seq = h.shape[1]
        if isinstance(lstm, StatefulSpikingMLP):
            x = features.reshape(n_seq, -1, features.shape[-1]).transpose(0, 1)  # [S, n_seq, F]
            starts = episode_starts.reshape(n_seq, -1).transpose(0, 1)  # [S, n_seq]
            width = lstm.state_size
            spikes = c[0, :, :width] if lstm.recurrent_synapses else None
            with_rates = self._spiking_sde and lstm is self.lstm_actor  # gSDE's latent after the parameters
            result = lstm(x.reshape(-1, x.shape[-1]), h[0, :, :width], starts, spikes, with_rates=with_rates)
            out = result[0].view(x.shape[0], n_seq, -1).transpose(0, 1).reshape(-1, result[0].shape[-1])
            last_spikes = result[2].unsqueeze(0) if lstm.recurrent_synapses else None
            return out, self._in_layout(result[1].unsqueeze(0), last_spikes, h)
        # sb3-contrib's LSTM critic, on its part of the layout
        inner = tuple(s[: lstm.num_layers, :, : lstm.hidden_size].contiguous() for s in (h, c))
        process = RecurrentActorCriticPolicy._process_sequence
        out, (h_new, c_new) = process(features, inner, episode_starts, lstm)  # type: ignore[arg-type]
        return out, self._in_layout(h_new, c_new, h)

    def _spiking_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._spiking_constructor_parameters(), "recurrent_synapses": self.recurrent_synapses}

    @classmethod
    def resolve_policy_kwargs(cls, policy_kwargs: dict[str, Any]) -> dict[str, Any]:
        return {"recurrent_synapses": True, **super().resolve_policy_kwargs(policy_kwargs)}

    @staticmethod
    def _in_layout(h_part: th.Tensor, c_part: th.Tensor | None, like: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """``(h, c)`` of the shared layout's shape (``like``), holding ``h_part``/``c_part`` in their
        corner and zeros elsewhere (a ``c_part`` of None: all zero)."""
        if h_part.shape == like.shape and c_part is not None:
            return h_part, c_part
        layers, width = h_part.shape[0], h_part.shape[2]
        h = like.new_zeros(like.shape)
        h[:layers, :, :width] = h_part
        c = like.new_zeros(like.shape)
        if c_part is not None:
            c[: c_part.shape[0], :, : c_part.shape[2]] = c_part
        return h, c


SpikingRecurrentActorCriticCnnPolicy = with_features_extractor(
    SpikingRecurrentActorCriticPolicy,
    NatureCNN,
    "SpikingRecurrentActorCriticCnnPolicy",
    """:class:`SpikingRecurrentActorCriticPolicy` for images: SB3's (ANN) NatureCNN features feed
    the stateful spiking actor (default ``net_arch=dict(pi=[256], vf=[])``) and the critic.""",
)


SpikingRecurrentMultiInputActorCriticPolicy = with_features_extractor(
    SpikingRecurrentActorCriticPolicy,
    CombinedExtractor,
    "SpikingRecurrentMultiInputActorCriticPolicy",
    """:class:`SpikingRecurrentActorCriticPolicy` for Dict observations (SB3's ``CombinedExtractor``).""",
)


#: ``policy_aliases`` of :class:`~sb3_spiking.SpikingRecurrentPPO`: sb3-contrib's names, spiking policies.
RECURRENT_ALIASES: dict[str, type[BasePolicy]] = {
    "MlpLstmPolicy": SpikingRecurrentActorCriticPolicy,
    "CnnLstmPolicy": SpikingRecurrentActorCriticCnnPolicy,
    "MultiInputLstmPolicy": SpikingRecurrentMultiInputActorCriticPolicy,
}
