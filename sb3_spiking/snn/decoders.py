"""Decoders: spikes ``[T, B, H]`` of the last hidden layer -> real outputs ``[B, out]``.

The output is what an ANN head would produce (Q-values, a pre-tanh action, logits); squashing,
scaling and distributions stay with the RL code that owns them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sb3_spiking.snn.encoders import _linear_numpy
from sb3_spiking.snn.neurons import LIF, LeakyReadout, numpy_view
from sb3_spiking.snn.validation import check_int

DECODERS = ("membrane", "rate", "learnable", "population", "spike_count")


class Decoder(nn.Module):
    """Base class: ``in_features`` spiking inputs per step, ``out_features`` outputs.

    Subclasses may define ``numpy_forward(spikes: np.ndarray) -> np.ndarray``, the NumPy twin of
    :meth:`forward` used by the inference fast path; decoders without it always run in torch.
    """

    def __init__(self, in_features: int, out_features: int, num_steps: int) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.num_steps = num_steps


class MembraneDecoder(Decoder):
    """Non-spiking leaky-integrator output neurons; the output is their membrane potential read
    out over time (Chen et al.: ``"max"`` best for Q-values; also ``"mean"`` and ``"last"``)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        num_steps: int,
        readout: str = "max",
        beta: float = 0.5,
        learn_beta: bool = False,
    ) -> None:
        super().__init__(in_features, out_features, num_steps)
        self.linear = nn.Linear(in_features, out_features)
        self.readout = LeakyReadout(out_features, num_steps, beta=beta, learn_beta=learn_beta, readout=readout)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        return self.readout(self.linear(spikes))

    def numpy_forward(self, spikes: np.ndarray) -> np.ndarray:
        return self.readout.numpy_forward(_linear_numpy(self.linear, spikes))


class RateDecoder(Decoder):
    """``Linear`` of the mean spike count over time (Liu et al.'s DSQN readout).

    The mean is taken first so the ``Linear`` runs once; in accounting terms every input spike
    still costs one accumulate per output (``rate_input_steps`` tells the counter to rescale).
    """

    def __init__(self, in_features: int, out_features: int, num_steps: int) -> None:
        super().__init__(in_features, out_features, num_steps)
        self.linear = nn.Linear(in_features, out_features)
        self.linear.rate_input_steps = num_steps  # type: ignore[assignment]

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        return self.linear(spikes.mean(0))

    def numpy_forward(self, spikes: np.ndarray) -> np.ndarray:
        return _linear_numpy(self.linear, spikes.mean(0))


class LearnableDecoder(Decoder):
    """ACSF learnable decoding: one ``Linear`` over the spikes of all T steps, concatenated."""

    def __init__(self, in_features: int, out_features: int, num_steps: int) -> None:
        super().__init__(in_features, out_features, num_steps)
        self.linear = nn.Linear(in_features * num_steps, out_features)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        return self.linear(spikes.transpose(0, 1).flatten(1))

    def numpy_forward(self, spikes: np.ndarray) -> np.ndarray:
        return _linear_numpy(self.linear, spikes.transpose(1, 0, 2).reshape(spikes.shape[1], -1))


class PopulationDecoder(Decoder):
    """PopSAN output populations: ``pop_dim`` spiking neurons per output; each output is a learned
    weighted sum of its population's firing rates plus a bias.

    :param neuron_kwargs: options of the output LIF neurons (beta, threshold, surrogate, ...).
    """

    def __init__(self, in_features: int, out_features: int, num_steps: int, pop_dim: int = 10, **neuron_kwargs) -> None:
        super().__init__(in_features, out_features, num_steps)
        self.pop_dim = check_int("pop_dim", pop_dim)
        self.linear = nn.Linear(in_features, out_features * pop_dim)
        self.lif = LIF(out_features * pop_dim, **neuron_kwargs)
        # PopSAN's grouped Conv1d (one kernel of size pop_dim per output) written as weights.
        bound = 1.0 / pop_dim**0.5
        self.pop_weight = nn.Parameter(torch.empty(out_features, pop_dim).uniform_(-bound, bound))
        self.pop_bias = nn.Parameter(torch.empty(out_features).uniform_(-bound, bound))

    def extra_macs(self, inputs: tuple, output: torch.Tensor) -> int:
        """The weighted sum of rates is dense work (accounting)."""
        return output.shape[0] * self.out_features * self.pop_dim

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        steps, batch = spikes.shape[:2]
        cur = self.linear(spikes.flatten(0, 1)).view(steps, batch, -1)
        rates = self.lif(cur).mean(0).view(batch, self.out_features, self.pop_dim)
        return (rates * self.pop_weight).sum(-1) + self.pop_bias

    def numpy_forward(self, spikes: np.ndarray) -> np.ndarray:
        steps, batch = spikes.shape[:2]
        cur = _linear_numpy(self.linear, spikes.reshape(steps * batch, -1)).reshape(steps, batch, -1)
        rates = self.lif.numpy_forward(cur).mean(0).reshape(batch, self.out_features, self.pop_dim)
        return (rates * numpy_view(self, "pop_weight")).sum(-1) + numpy_view(self, "pop_bias")


class SpikeCountDecoder(Decoder):
    """Spiking output neurons read out as **spike count + final membrane potential** (the readout
    of ANN-to-SNN converted DQNs, Tan et al., AAAI 2021; see :mod:`sb3_spiking.conversion`).

    The output neurons are the engine's :class:`~sb3_spiking.snn.neurons.LIF` (they spike, and
    the accounting counts their spikes and the synaptic operations feeding them); with
    ``beta=1`` they are integrate-and-fire neurons. The membrane left after the last step is not
    simulated a second time but read from the input currents ``I_t`` and the spikes ``s_t`` the
    LIF returned, since the recurrence is linear between spikes:

    - subtractive reset: ``post_t = beta * post_{t-1} + I_t - thr * s_t``, so
      ``post_{T-1} = sum_t beta^(T-1-t) * (I_t - thr * s_t)``;
    - reset to zero: what arrived after the last spike, ``sum_{t > k} beta^(T-1-t) * I_t``
      (``k`` the last spike's step).

    The residual breaks the ties of the integer count. For IF neurons with subtractive reset and
    ``threshold=1`` the output equals the total input current ``sum_t I_t``.

    :param neuron_kwargs: options of the output neurons (shared with the hidden layers).
    """

    def __init__(self, in_features: int, out_features: int, num_steps: int, **neuron_kwargs) -> None:
        super().__init__(in_features, out_features, num_steps)
        self.linear = nn.Linear(in_features, out_features)
        self.lif = LIF(out_features, **neuron_kwargs)
        lag = torch.arange(num_steps - 1, -1, -1, dtype=torch.float32)[:, None, None]  # T-1-t, [T, 1, 1]
        self.register_buffer("_lag", lag, persistent=False)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        steps, batch = spikes.shape[:2]
        cur = self.linear(spikes.flatten(0, 1)).view(steps, batch, -1)
        out_spikes = self.lif(cur)
        beta, thr = self.lif.neuron_params()
        if self.lif.reset_mechanism == "zero":  # steps after the last spike: no spike from t on
            residual = cur * (out_spikes.flip(0).cumsum(0).flip(0) == 0)
        else:
            residual = cur - out_spikes * thr
        if self.lif.learn_beta or not bool((beta == 1.0).all()):
            residual = residual * beta.pow(self._lag)
        return out_spikes.sum(0) + residual.sum(0)

    def numpy_forward(self, spikes: np.ndarray) -> np.ndarray:
        steps, batch = spikes.shape[:2]
        cur = _linear_numpy(self.linear, spikes.reshape(steps * batch, -1)).reshape(steps, batch, -1)
        out_spikes = self.lif.numpy_forward(cur)
        beta, thr = (t.detach().numpy() for t in self.lif.neuron_params())
        if self.lif.reset_mechanism == "zero":
            residual = cur * (np.cumsum(out_spikes[::-1], axis=0)[::-1] == 0)
        else:
            residual = cur - out_spikes * thr
        if self.lif.learn_beta or not (beta == 1.0).all():
            residual = residual * beta ** numpy_view(self, "_lag")
        return out_spikes.sum(0) + residual.sum(0)


def make_decoder(
    name: str,
    in_features: int,
    out_features: int,
    num_steps: int,
    readout: str | None = None,
    neuron_kwargs: dict | None = None,
    **kwargs,
) -> Decoder:
    """Build a decoder by name (``membrane``, ``rate``, ``learnable``, ``population``,
    ``spike_count``).

    :param readout: ``membrane_readout`` (membrane decoder only; default ``"max"``).
    :param neuron_kwargs: neuron options shared with the hidden layers (``beta``, ``threshold``,
        ``surrogate``, ...); the membrane decoder uses ``beta``/``learn_beta``, the population
        and spike-count decoders all of them.
    :param kwargs: the decoder's own options (``decoder_kwargs``); unknown ones raise TypeError.
    """
    neuron_kwargs = dict(neuron_kwargs or {})
    if name == "membrane":
        return MembraneDecoder(
            in_features,
            out_features,
            num_steps,
            readout=readout or "max",
            beta=neuron_kwargs.get("beta", 0.5),
            learn_beta=neuron_kwargs.get("learn_beta", False),
            **kwargs,
        )
    if name == "rate":
        return RateDecoder(in_features, out_features, num_steps, **kwargs)
    if name == "learnable":
        return LearnableDecoder(in_features, out_features, num_steps, **kwargs)
    if name == "population":
        return PopulationDecoder(in_features, out_features, num_steps, **kwargs, **neuron_kwargs)
    if name == "spike_count":
        return SpikeCountDecoder(in_features, out_features, num_steps, **kwargs, **neuron_kwargs)
    raise ValueError(f"Unknown decoder={name!r}; allowed: {DECODERS}")
