"""Leaky integrate-and-fire neurons, time-first and stateless across calls.

Semantics (per neuron, one time step), matching ``snntorch.Leaky(reset_delay=False)``::

    mem_t   = beta * post_{t-1} + I_t          (post_{-1} = 0: every forward starts at rest)
    spk_t   = H(mem_t - threshold)             (surrogate gradient from snnTorch)
    post_t  = mem_t - spk_t * threshold        (reset_mechanism="subtract")
            = mem_t * (1 - spk_t)              (reset_mechanism="zero")

The whole sequence is computed by :class:`LIFScan`, an ``autograd.Function`` with a hand-written
backward over T. Why: with plain autograd every time step leaves ~6 graph nodes per layer
(T*6 small kernels forward and again backward, plus autograd bookkeeping). The hand-written
backward needs one ``addcmul`` per step and does everything else (surrogate derivative, beta and
threshold gradients) vectorised over ``[T, ...]``. Measured on this project's 2-core CPU at
[T, B, N] = [5, 256, 256] (``python benchmarks/lif_kernels.py``): forward + backward 0.8-1.0 ms
against 2.9-3.2 ms for the autograd reference.
:func:`lif_reference` is the plain-autograd version; tests check both agree, forward and backward.
The functions live in :mod:`.kernels`; this module holds the neuron modules.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from sb3_spiking.snn import allocator
from sb3_spiking.snn.kernels import LIFScan, _lif_forward, lif_carry, lif_numpy, lif_reference, lif_scan
from sb3_spiking.snn.surrogates import SpikeFn, resolve_surrogate

# The recurrence functions live in kernels.py; these names stay importable from here.
__all__ = [
    "LIF",
    "NEURONS",
    "RESET_MECHANISMS",
    "LIFScan",
    "LeakyReadout",
    "ReLUUnits",
    "_lif_forward",
    "lif_carry",
    "lif_numpy",
    "lif_reference",
    "lif_scan",
    "make_hidden_units",
    "numpy_view",
]

RESET_MECHANISMS = ("subtract", "zero")


def numpy_view(module: nn.Module, name: str) -> np.ndarray:
    """Zero-copy NumPy view of a module's parameter or buffer ``name``, cached.

    The inference fast path reads every weight on every call; ``detach().numpy()`` plus the
    ``Module.__getattr__`` lookup cost ~3 us each, a third of a batch-1 decision. The cache is
    keyed on the tensor object and its storage pointer, so optimiser steps (in place) are seen
    through the view, and ``to()``, ``load_state_dict(assign=True)`` or a replaced parameter
    rebuild it.
    """
    tensor = module._parameters.get(name)
    if tensor is None:
        tensor = module._buffers[name]
    cache = module.__dict__.setdefault("_numpy_views", {})
    hit = cache.get(name)
    ptr = tensor.data_ptr()
    if hit is None or hit[0] is not tensor or hit[1] != ptr:
        hit = cache[name] = (tensor, ptr, tensor.detach().numpy())
    return hit[2]


def _neuron_tensor(value: float, shape: tuple[int, ...], learn: bool) -> torch.Tensor:
    data = torch.full(shape, float(value))
    return nn.Parameter(data) if learn else data


class LIF(nn.Module):
    """A layer of leaky integrate-and-fire neurons with per-neuron ``beta`` and ``threshold``.

    State is explicit: :meth:`step` takes and returns the membrane (snnTorch style), and
    :meth:`forward` runs a whole ``[T, B, ...]`` sequence from rest, keeping nothing between calls.

    :param shape: shape of one sample's neurons for the per-neuron tensors, e.g. ``(256,)`` or
        ``(32, 1, 1)`` (one value per conv channel, broadcast over height and width).
    :param beta: membrane decay in (0, 1].
    :param threshold: firing threshold, > 0.
    :param surrogate: snnTorch surrogate name or function (see :mod:`.surrogates`).
    :param learn_beta: make ``beta`` a trainable parameter (clamped to [0, 1] when used).
    :param learn_threshold: make ``threshold`` a trainable parameter (clamped to >= 1e-3 when used).
    :param reset_mechanism: ``"subtract"`` or ``"zero"``.
    :param detach_reset: no gradient through the reset (Chen et al.; cheaper, usually as good).

    **Process-wide side effect.** Building the first LIF layer of a process calls
    :func:`~sb3_spiking.snn.allocator.keep_freed_memory`, which raises glibc's mmap and trim
    thresholds (``mallopt``) for the whole process, so that the layer's ``[T, B, ...]`` tensors
    reuse freed heap memory instead of page-faulting on every training step (measured: 15.4 ms
    -> 10.7 ms per forward + backward of a [256, 256] SpikingTD3 actor; see
    :mod:`~sb3_spiking.snn.allocator`). The process then keeps its peak heap size. To leave the
    allocator alone, set ``LIF.keep_freed_memory = False`` before building any network (or the
    environment variable ``SB3_SPIKING_KEEP_MEMORY=0``); no effect where the C library is not glibc.
    """

    #: Call :func:`~sb3_spiking.snn.allocator.keep_freed_memory` when a layer is built (see above).
    keep_freed_memory: ClassVar[bool] = True

    def __init__(
        self,
        shape: int | tuple[int, ...],
        beta: float = 0.5,
        threshold: float = 1.0,
        surrogate: str | SpikeFn = "atan",
        learn_beta: bool = False,
        learn_threshold: bool = False,
        reset_mechanism: str = "subtract",
        detach_reset: bool = True,
    ) -> None:
        super().__init__()
        if self.keep_freed_memory:
            allocator.keep_freed_memory()  # its [T, B, ...] tensors page-fault on every step otherwise
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if reset_mechanism not in RESET_MECHANISMS:
            raise ValueError(f"reset_mechanism must be one of {RESET_MECHANISMS}, got {reset_mechanism!r}")
        self.shape = shape
        self.spike_fn = resolve_surrogate(surrogate)
        self.reset_mechanism = reset_mechanism
        self.detach_reset = detach_reset
        self.learn_beta = learn_beta
        self.learn_threshold = learn_threshold
        for name, value, learn in (("beta", beta, learn_beta), ("threshold", threshold, learn_threshold)):
            tensor = _neuron_tensor(value, shape, learn)
            if learn:
                self.register_parameter(name, tensor)  # type: ignore[arg-type]
            else:
                self.register_buffer(name, tensor)

    def neuron_params(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The (beta, threshold) actually used: learnable ones are clamped to their valid range."""
        beta = self.beta.clamp(0.0, 1.0) if self.learn_beta else self.beta
        thr = self.threshold.clamp_min(1e-3) if self.learn_threshold else self.threshold
        return beta, thr

    def step(self, current: torch.Tensor, mem: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step: ``(spk, mem_after_reset) = step(current, mem)``; ``mem=None`` is rest."""
        beta, thr = self.neuron_params()
        start = torch.zeros_like(current) if mem is None else mem
        spikes, post = lif_carry(
            current[None], start, None, beta, thr, self.spike_fn, 1, self.reset_mechanism, self.detach_reset
        )
        return spikes[0, 0], post

    def forward(
        self,
        current: torch.Tensor,
        num_steps: int | None = None,
        mem: torch.Tensor | None = None,
        resets: torch.Tensor | None = None,
        recurrent: nn.Module | None = None,
        spikes: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """Spikes ``[T, B, ...]`` from rest; or, with ``mem``, ``(spikes, mem)`` carried on.

        :param current: ``[T, B, ...]``, or ``[B, ...]`` with ``num_steps`` given (a constant current,
            e.g. the first layer of a direct encoder, computed once). With ``mem``: ``[S, T, B, ...]``
            (S segments of T steps), or ``[S, B, ...]`` with ``num_steps`` (constant within a segment).
        :param num_steps: T for a constant current; ``None`` when ``current`` has a time axis.
        :param mem: the membrane ``[B, ...]`` (after reset) the first segment starts from; the
            membrane after the last step is returned with the spikes ``[S, T, B, ...]``
            (see :func:`lif_carry`). ``None``: the stateless call, from rest.
        :param resets: ``[S, B]``, 1 where the membrane is set to rest before that segment (an
            episode start), 0 where it carries on; only with ``mem``.
        :param recurrent: recurrent synapses on the layer's own spikes, and ``spikes`` the previous
            step's spikes: only with ``mem``; the last spikes are then returned third (see
            :func:`lif_carry`).
        """
        if mem is not None:
            beta, thr = self.neuron_params()
            return lif_carry(
                current,
                mem,
                resets,
                beta,
                thr,
                self.spike_fn,
                num_steps,
                self.reset_mechanism,
                self.detach_reset,
                recurrent,
                spikes,
            )
        if resets is not None or recurrent is not None:
            raise ValueError("LIF.forward: resets apply to a carried membrane; pass mem as well")
        beta, thr = self.neuron_params()
        constant = num_steps is not None
        steps = num_steps if constant else current.shape[0]
        return lif_scan(current, beta, thr, steps, self.spike_fn, constant, self.reset_mechanism, self.detach_reset)

    def numpy_forward(self, current: np.ndarray, num_steps: int | None = None) -> np.ndarray:
        """:meth:`forward` for a NumPy input (the inference fast path)."""
        beta, thr = numpy_view(self, "beta"), numpy_view(self, "threshold")
        if self.learn_beta:
            beta = np.clip(beta, 0.0, 1.0)
        if self.learn_threshold:
            thr = np.maximum(thr, np.float32(1e-3))
        constant = num_steps is not None
        steps = num_steps if constant else current.shape[0]
        return lif_numpy(current, beta, thr, steps, constant, self.reset_mechanism == "zero")

    def extra_repr(self) -> str:
        return (
            f"shape={self.shape}, reset={self.reset_mechanism}, learn_beta={self.learn_beta}, "
            f"learn_threshold={self.learn_threshold}"
        )


class LeakyReadout(nn.Module):
    """Non-spiking leaky integrator (``mem_t = beta * mem_{t-1} + I_t``) read out over time.

    The recurrence is linear, so the whole membrane trace is one matrix product with a ``[T, T]``
    decay kernel per neuron instead of T sequential steps: one kernel call at any T.

    :param num_neurons: output neurons.
    :param num_steps: T.
    :param beta: decay in (0, 1].
    :param learn_beta: trainable per-neuron decay.
    :param readout: ``"max"``, ``"mean"`` or ``"last"`` over the T membrane values.
    """

    READOUTS = ("max", "mean", "last")

    def __init__(
        self, num_neurons: int, num_steps: int, beta: float = 0.5, learn_beta: bool = False, readout: str = "max"
    ) -> None:
        super().__init__()
        if readout not in self.READOUTS:
            raise ValueError(f"membrane_readout must be one of {self.READOUTS}, got {readout!r}")
        self.num_steps = num_steps
        self.readout = readout
        self.learn_beta = learn_beta
        tensor = _neuron_tensor(beta, (num_neurons,), learn_beta)
        if learn_beta:
            self.register_parameter("beta", tensor)  # type: ignore[arg-type]
        else:
            self.register_buffer("beta", tensor)
        t = torch.arange(num_steps)
        self.register_buffer("_lag", (t[:, None] - t[None, :]).clamp_min(0).float(), persistent=False)
        self.register_buffer("_causal", (t[:, None] >= t[None, :]).float(), persistent=False)
        self._kernel_cache: tuple[torch.Tensor, np.ndarray] | None = None
        self._kernel_key: tuple = ()

    def kernel(self) -> torch.Tensor:
        """Decay kernel over time: ``[T_out, T]`` when every neuron shares one beta (one ``mm`` for
        all neurons), else ``[N, T_out, T]`` (one batched product). ``T_out`` is 1 for the "mean"
        and "last" readouts, which are fixed weighted sums over time.
        """
        # Cached for a fixed beta; the key includes the buffer's version counter so that
        # load_state_dict (an in-place copy) invalidates it.
        key = (self.beta._version, self.beta.device, self.beta.dtype)
        if not self.learn_beta and self._kernel_cache is not None and self._kernel_key == key:
            return self._kernel_cache[0]
        beta = self.beta.clamp(1e-6, 1.0) if self.learn_beta else self.beta
        shared = not self.learn_beta and bool((beta == beta[0]).all())
        kernel = (beta[:1] if shared else beta)[:, None, None].pow(self._lag) * self._causal
        if self.readout == "last":
            kernel = kernel[:, -1:, :]
        elif self.readout == "mean":
            kernel = kernel.mean(1, keepdim=True)
        if shared:
            kernel = kernel[0]
        if not self.learn_beta:
            self._kernel_cache, self._kernel_key = (kernel, kernel.numpy()), key
        return kernel

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        """``[T, B, N]`` input current -> ``[B, N]`` readout of the membrane potential."""
        kernel = self.kernel()
        if kernel.dim() == 2:
            steps, batch, n = current.shape
            mem = torch.mm(kernel, current.reshape(steps, batch * n)).view(-1, batch, n)
        else:
            mem = torch.einsum("ntk,kbn->tbn", kernel, current)
        return mem.amax(0) if self.readout == "max" else mem[0]

    def numpy_forward(self, current: np.ndarray) -> np.ndarray:
        """:meth:`forward` for a NumPy input (the inference fast path)."""
        torch_kernel = self.kernel()
        cache = self._kernel_cache
        kernel = cache[1] if cache is not None and cache[0] is torch_kernel else torch_kernel.detach().numpy()
        if kernel.ndim == 2:
            steps, batch, n = current.shape
            flat = current.reshape(steps, batch * n)
            if flat.size * steps <= 8192:  # tiny: NumPy's OpenBLAS stays on one thread
                mem = (kernel @ flat).reshape(-1, batch, n)
            else:  # large: torch, not OpenBLAS's busy-waiting threads (see encoders._linear_numpy)
                flat = torch.from_numpy(np.ascontiguousarray(flat))
                mem = torch.mm(torch.from_numpy(kernel), flat).numpy().reshape(-1, batch, n)
        else:
            mem = np.einsum("ntk,kbn->tbn", kernel, current)
        return mem.max(0) if self.readout == "max" else mem[0]

    def trace(self, current: torch.Tensor) -> torch.Tensor:
        """The full membrane trace ``[T, B, N]`` (for plots and tests)."""
        beta = self.beta.clamp(1e-6, 1.0)
        kernel = beta[:, None, None].pow(self._lag) * self._causal
        return torch.einsum("ntk,kbn->tbn", kernel, current)


class ReLUUnits(nn.Module):
    """Real-valued ReLU units with the interface of :class:`LIF` (``neuron="relu"``).

    Not spiking: each time step is ``relu(current_t)``, independently. It exists for one ablation,
    ACSF's "learnable coders around an ANN" (Qin et al., 2023), where the learnable encoder and
    decoder of a spiking network wrap an ANN body instead. The accounting counts the layers they
    feed as dense MACs (their inputs are real numbers).
    """

    def __init__(self, shape: int | tuple[int, ...]) -> None:
        super().__init__()
        self.shape = (shape,) if isinstance(shape, int) else tuple(shape)

    def forward(self, current: torch.Tensor, num_steps: int | None = None) -> torch.Tensor:
        """``relu(current)`` as ``[T, B, ...]``; a constant ``[B, ...]`` current is repeated ``num_steps`` times."""
        out = torch.relu(current)
        return out if num_steps is None else out.unsqueeze(0).expand(num_steps, *out.shape)

    def numpy_forward(self, current: np.ndarray, num_steps: int | None = None) -> np.ndarray:
        out = np.maximum(current, np.float32(0.0))
        return out if num_steps is None else np.broadcast_to(out, (num_steps, *out.shape)).copy()

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


#: Hidden units of the option ``neuron``: spiking LIF neurons (the default) or ReLU (ablation).
NEURONS = ("lif", "relu")


def make_hidden_units(neuron: str, shape: int | tuple[int, ...], **neuron_kwargs: Any) -> nn.Module:
    """The hidden units of one layer: :class:`LIF` (``neuron="lif"``) or :class:`ReLUUnits`."""
    if neuron == "lif":
        return LIF(shape, **neuron_kwargs)
    if neuron == "relu":
        return ReLUUnits(shape)
    raise ValueError(f"Unknown neuron={neuron!r}; allowed values: {', '.join(NEURONS)}")
