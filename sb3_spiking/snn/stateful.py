"""A spiking MLP whose membranes carry on from one call to the next, as an explicit state.

Every other body of the engine starts each forward from rest. :class:`StatefulSpikingMLP` takes
the hidden layers' membranes as an argument and returns them, so a caller can run one call per
decision and keep the state itself (a recurrent policy keeps it where an LSTM's ``(h, c)`` go).
Nothing is stored in the module.

Shapes: a call covers ``S`` consecutive decisions of ``B`` independent streams (``S = 1`` for one
step of ``B`` environments; ``S > 1`` replays stored sequences for training). Each decision runs
T = ``num_steps`` SNN steps; the membrane after the last step of decision ``s`` is where
decision ``s + 1`` starts, unless ``resets[s]`` says the stream starts afresh there.
"""

from __future__ import annotations

import torch
from torch import nn

from sb3_spiking.snn.network import SpikingMLP, check_finite_input, init_synapse, mark_synapse
from sb3_spiking.snn.neurons import LIF


class StatefulSpikingMLP(SpikingMLP):
    """:class:`SpikingMLP` with its hidden LIF membranes as a state carried between calls.

    ``out, state = net(x, state, resets)``:

    - ``x``: ``[S * B, in]``, decision-major (row ``s * B + b`` is stream ``b``'s decision ``s``);
    - ``state``: ``[B, state_size]``, the membranes (after reset) of every hidden layer,
      concatenated in layer order (zeros: at rest);
    - ``resets``: ``[S, B]`` (1: back to rest before that decision) or None;
    - ``out``: ``[S * B, out]``, same row order; the returned state is the membranes after the
      last decision.

    The decoder reads each decision's T spikes on its own, from rest (it is the readout of that
    decision, not memory). The memory is the membrane; with ``recurrent_synapses=True`` each
    hidden layer also gets all-to-all synapses from its own spikes one step earlier (snnTorch's
    ``RLeaky``), and its last spikes are state too (third input/output). Training runs
    every layer over all ``S * T`` steps at once (time-first), with backpropagation through the
    carried membranes. Same parameters as :class:`SpikingMLP`; hidden units must be LIF neurons.
    """

    def __init__(self, *args, recurrent_synapses: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not all(isinstance(lif, LIF) for lif in self.lifs):
            raise ValueError(
                f"A stateful spiking network carries LIF membranes: neuron must be 'lif', got {self.options.neuron!r}"
            )
        if not isinstance(recurrent_synapses, bool):
            raise TypeError(f"recurrent_synapses must be True or False, got {recurrent_synapses!r}")
        self.state_size = sum(self.hidden_sizes)
        self.recurrent_synapses = recurrent_synapses
        self.recs: nn.ModuleList | None = None
        if recurrent_synapses:
            # snnTorch RLeaky-style all-to-all synapses from each layer's spikes onto itself, one
            # step later (also from one decision's last step to the next decision's first).
            self.recs = nn.ModuleList(mark_synapse(nn.Linear(h, h, bias=False), spike_input=True) for h in self.hidden_sizes)
            opts = self.options
            for rec in self.recs:
                init_synapse(rec, opts.threshold, opts.beta, opts.num_steps, spike_input=True)
                rec.weight.data.mul_(0.5)  # half the feed-forward spread: the layers still fire at init
            self.ann_macs_per_sample += sum(h * h for h in self.hidden_sizes)

    def initial_state(self, batch: int) -> torch.Tensor:
        """The state at rest, ``[batch, state_size]``."""
        return self.fcs[0].weight.new_zeros((batch, self.state_size))

    def forward(  # type: ignore[override]
        self,
        x: torch.Tensor,
        state: torch.Tensor,
        resets: torch.Tensor | None = None,
        spikes: torch.Tensor | None = None,
        with_rates: bool = False,
    ) -> tuple[torch.Tensor, ...]:
        """``(out, state)``; with recurrent synapses ``(out, state, spikes)``, ``spikes``
        ``[B, state_size]`` being every hidden layer's last spikes (the second part of the state,
        given back in the next call; None: at rest). ``with_rates``: ``out`` is followed (last
        dimension) by each decision's firing rates of the last hidden layer (spike count / T,
        ``[S * B, H_last]``: gSDE's latent)."""
        if state.dim() != 2 or state.shape[1] != self.state_size:
            raise ValueError(f"state must be [batch, {self.state_size}], got {tuple(state.shape)}")
        if spikes is not None and spikes.shape != state.shape:
            raise ValueError(f"spikes must have the state's shape {tuple(state.shape)}, got {tuple(spikes.shape)}")
        batch = state.shape[0]
        if x.dim() != 2 or x.shape[0] % batch:
            raise ValueError(f"x must be [segments * batch, in] with batch {batch}, got {tuple(x.shape)}")
        segments, steps = x.shape[0] // batch, self.num_steps
        if self.check_inputs:
            check_finite_input(x)
        h = self.encoder(x)  # [S*B, F] (constant over T) or [T, S*B, F]
        constant = self.encoder.constant
        mems = torch.split(state, self.hidden_sizes, dim=1)
        recs = self.recs if self.recs is not None else [None] * len(self.lifs)
        if self.recs is None:
            last = [None] * len(self.lifs)
        else:
            last = list(torch.split(spikes if spikes is not None else torch.zeros_like(state), self.hidden_sizes, dim=1))
        new_mems, new_spikes = [], []
        for fc, lif, rec, mem, spk in zip(self.fcs, self.lifs, recs, mems, last, strict=True):
            extra = {} if rec is None else dict(recurrent=rec, spikes=spk)
            if constant:  # one product per decision, the same current for its T steps
                out = lif(fc(h).view(segments, batch, -1), steps, mem=mem, resets=resets, **extra)
                constant = False
            elif h.dim() == 3:  # encoder output [T, S*B, F] -> [S, T, B, H]
                current = fc(h.flatten(0, 1)).view(steps, segments, batch, -1).transpose(0, 1)
                out = lif(current, mem=mem, resets=resets, **extra)
            else:  # spikes [S, T, B, H] of the layer below
                out = lif(fc(h), mem=mem, resets=resets, **extra)
            h = out[0]
            new_mems.append(out[1])
            if rec is not None:
                new_spikes.append(out[2])
        # each decision's T spikes -> the decoder, [T, S*B, H]
        result = self.decoder(h.transpose(0, 1).reshape(steps, segments * batch, -1))
        if with_rates:
            result = torch.cat([result, h.mean(dim=1).reshape(segments * batch, -1)], dim=-1)
        if self.recs is None:
            return result, torch.cat(new_mems, dim=1)
        return result, torch.cat(new_mems, dim=1), torch.cat(new_spikes, dim=1)

    def forward_with_rates(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Not available here: the stateless ``SpikingMLP`` method would run without the carried
        state. Call ``forward(x, state, ..., with_rates=True)``."""
        raise TypeError("StatefulSpikingMLP needs its state: call forward(x, state, resets, spikes, with_rates=True)")

    def numpy_ready(self, batch: int) -> bool:
        return False  # the NumPy route is the stateless forward's
