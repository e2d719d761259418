"""Spiking bodies: encoder -> (synaptic layer -> LIF) x L -> decoder, time-first."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from sb3_spiking.snn.decoders import PopulationDecoder, make_decoder
from sb3_spiking.snn.encoders import _linear_numpy, make_encoder
from sb3_spiking.snn.neurons import LIF
from sb3_spiking.snn.options import SpikingOptions, check_int


def check_finite_input(x: torch.Tensor, what: str = "observations") -> None:
    """Raise a clear error instead of silently propagating NaN/inf through T time steps.

    A sum is NaN/inf whenever an element is (inf - inf = NaN), and costs one reduction instead of
    the several ops of ``isfinite(x).all()`` (3 us against 14 us at batch 1, where it runs on
    every environment step); the exact check only runs to rule out an overflowing sum.
    """
    if math.isfinite(float(x.detach().sum())):
        return
    if not bool(torch.isfinite(x).all()):
        raise ValueError(
            f"The spiking network received {what} containing NaN or inf; "
            "check the environment (or wrap it with VecCheckNan to find the step)."
        )


#: Init assumptions (see :func:`init_synapse`): fraction of spiking inputs active per step, and the
#: target spread of the accumulated membrane in units of the threshold. Chosen by measuring
#: per-layer firing at init over encoders, depths 2-3, T in {5, 8, 64}, beta in {0.5, 0.9}: with
#: these values every layer fires at 5-30% (PyTorch's default init leaves layer 2 at ~0-2%).
INIT_INPUT_RATE = 0.2
INIT_GAIN = 2.0


def init_synapse(layer: nn.Linear, threshold: float, beta: float, num_steps: int, spike_input: bool) -> None:
    """Initialise a synaptic layer so that its LIF neurons fire at start.

    Weights ~ N(0, std^2) with ``std = gain * threshold / (g_T * sqrt(fan_in * p))``, where
    ``g_T = sum_{k<T} beta^k`` is how much a constant current accumulates over T steps and ``p`` the
    assumed fraction of active inputs (``INIT_INPUT_RATE`` for spikes, 1 for real values). Bias 0.
    """
    gain_t = float(num_steps) if beta >= 1.0 else (1.0 - beta**num_steps) / (1.0 - beta)
    p = INIT_INPUT_RATE if spike_input else 1.0
    std = INIT_GAIN * threshold / (gain_t * (layer.in_features * p) ** 0.5)
    nn.init.normal_(layer.weight, 0.0, std)
    nn.init.zeros_(layer.bias)


def mark_synapse(layer: nn.Module, spike_input: bool) -> nn.Module:
    """Tag a synaptic layer for the accounting: spike inputs cost accumulates, real inputs MACs."""
    layer.spike_input = spike_input  # type: ignore[assignment]
    return layer


#: Largest batch the NumPy inference path takes (see ``SpikingMLP.forward``).
NUMPY_MAX_BATCH = 64


class SpikingNetwork(nn.Module):
    """Base of spiking bodies; ``ann_macs_per_sample`` is the MAC count of the same-shape ANN.

    ``numpy_inference`` (default True) allows the NumPy fast path for small no-grad CPU batches;
    ``OpCounter`` turns it off while counting (its hooks live on the torch modules).
    """

    ann_macs_per_sample: int = 0
    numpy_inference: bool = True

    def train(self, mode: bool = True) -> SpikingNetwork:
        """Same effect as ``nn.Module.train``, about 4x cheaper.

        SB3 switches the policy's mode before every ``predict``; ``nn.Module.train`` recurses with
        ``Module.__setattr__`` (34 us for an 11-module spiking MLP, against 9 us here), which is
        a visible share of a batch-1 decision. Submodules that override ``train`` get it called.
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for module in self.modules():
            if module is not self and type(module).train is not nn.Module.train:
                module.train(mode)
            else:
                module.__dict__["training"] = mode
        return self


class SpikingMLP(SpikingNetwork):
    """Spiking multi-layer perceptron ``[B, in] -> [B, out]``.

    Each hidden layer applies its ``Linear`` to all ``T*B`` rows in one call and then runs only the
    element-wise LIF recurrence over T. When the encoder output is constant over time (direct
    coding) the first ``Linear`` runs once on ``[B, in]``. No state survives a call.

    :param in_features: input width.
    :param out_features: output width (what an ANN head would output, before any squashing).
    :param hidden_sizes: widths of the spiking hidden layers (at least one).
    :param options: spiking options (T, coding, neuron parameters).
    :param obs_low: per-input lower bounds (used by rate/population encoders), optional.
    :param obs_high: per-input upper bounds, optional.
    :param check_inputs: raise on NaN/inf inputs (one reduction per forward).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden_sizes: Sequence[int],
        options: SpikingOptions | None = None,
        obs_low: np.ndarray | torch.Tensor | None = None,
        obs_high: np.ndarray | torch.Tensor | None = None,
        check_inputs: bool = True,
    ) -> None:
        super().__init__()
        options = options or SpikingOptions()
        hidden_sizes = [check_int("net_arch entry", h) for h in hidden_sizes]
        if len(hidden_sizes) == 0:
            raise ValueError("A spiking network needs at least one hidden layer: net_arch must not be empty")
        self.options = options
        self.num_steps = options.num_steps
        self.in_features = check_int("in_features", in_features)
        self.out_features = check_int("out_features", out_features)
        self.hidden_sizes = list(hidden_sizes)
        self.check_inputs = check_inputs

        self.encoder = make_encoder(
            options.encoder, in_features, options.num_steps, low=obs_low, high=obs_high, **(options.encoder_kwargs or {})
        )
        widths = [self.encoder.out_features, *hidden_sizes]
        self.fcs = nn.ModuleList(
            mark_synapse(nn.Linear(w_in, w_out), spike_input=self.encoder.emits_spikes if i == 0 else True)
            for i, (w_in, w_out) in enumerate(zip(widths[:-1], widths[1:]))
        )
        self.lifs = nn.ModuleList(LIF(w, **options.neuron_kwargs()) for w in hidden_sizes)
        self.decoder = make_decoder(
            options.decoder,
            hidden_sizes[-1],
            out_features,
            options.num_steps,
            readout=options.membrane_readout,
            neuron_kwargs=options.neuron_kwargs(),
            **(options.decoder_kwargs or {}),
        )
        for module in self.decoder.modules():
            if isinstance(module, nn.Linear):
                mark_synapse(module, spike_input=True)
        spiking_synapses = list(self.fcs)
        if isinstance(self.decoder, PopulationDecoder):
            spiking_synapses.append(self.decoder.linear)
        for layer in spiking_synapses:
            init_synapse(layer, options.threshold, options.beta, options.num_steps, layer.spike_input)
        sizes = [in_features, *hidden_sizes, out_features]
        self.ann_macs_per_sample = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))

    def hidden_spikes(self, x: torch.Tensor) -> torch.Tensor:
        """Spikes ``[T, B, H_last]`` of the last hidden layer."""
        if self.check_inputs:
            check_finite_input(x)
        encoder = self.encoder
        h = encoder(x)
        constant = encoder.constant
        for fc, lif in zip(self.fcs, self.lifs):
            if constant:
                h = lif(fc(h), self.num_steps)
                constant = False
            else:
                steps, batch = h.shape[:2]
                h = lif(fc(h.flatten(0, 1)).view(steps, batch, -1))
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._numpy_path_ok(x):
            return torch.from_numpy(self._numpy_forward(x.detach().numpy()))
        return self.decoder(self.hidden_spikes(x))

    def _numpy_path_ok(self, x: torch.Tensor) -> bool:
        """Small, no-grad, float32 CPU batches run in NumPy.

        Why: at batch 1 a forward is ~60 tiny tensor ops and each torch op costs ~2 us of dispatch
        against ~0.5 us for a NumPy ufunc; on the 2-core CI machine the [256, 256], T=5 actor
        takes 285 us in torch and 110 us in NumPy (batch 8: 345 vs 165; batch 64: 869 vs 583).
        SB3 runs the policy at batch 1 on every environment step and in ``predict``. Results
        match the torch path to float32 rounding (tests/test_engine.py checks every coding); the
        training forward and backward always run in torch.
        """
        return (
            self.numpy_inference
            and not torch.is_grad_enabled()
            and x.device.type == "cpu"
            and x.dtype == torch.float32
            and x.dim() == 2
            and x.shape[0] <= NUMPY_MAX_BATCH
            and self.encoder.numpy_ready()
            and hasattr(self.decoder, "numpy_forward")
        )

    def _numpy_forward(self, obs: np.ndarray) -> np.ndarray:
        if self.check_inputs and not np.isfinite(obs.sum()) and not np.isfinite(obs).all():
            check_finite_input(torch.from_numpy(obs))  # raises with the usual message
        encoder = self.encoder
        h = encoder.numpy_forward(obs)
        constant = encoder.constant
        for fc, lif in zip(self.fcs, self.lifs):
            if constant:
                h = lif.numpy_forward(_linear_numpy(fc, h), self.num_steps)
                constant = False
            else:
                steps, batch = h.shape[:2]
                h = lif.numpy_forward(_linear_numpy(fc, h.reshape(steps * batch, -1)).reshape(steps, batch, -1))
        return self.decoder.numpy_forward(h)
