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
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from sb3_spiking.snn import allocator
from sb3_spiking.snn.surrogates import SpikeFn, Surrogate, resolve_surrogate

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


def _lif_forward(
    current: torch.Tensor,
    beta: torch.Tensor,
    threshold: torch.Tensor,
    num_steps: int,
    constant: bool,
    reset_zero: bool,
    keep_mem: bool,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run the recurrence; return (spikes [T, ...], membrane before reset [T, ...] or None).

    Spikes are written as floats straight from the comparison and the reset is arithmetic
    (``mem - spk * thr`` / ``mem - mem * spk``): on the CPU, comparisons into bool tensors and
    ``masked_fill``/``where`` run 3-9x slower than float element-wise ops at [256, 256]
    (45 / 136 / 120 us against 15 us), and at batch 1 every op costs ~2 us of dispatch, so the
    loop does exactly three ops per step.
    """
    shape = current.shape if constant else current.shape[1:]
    spk_seq = current.new_empty((num_steps, *shape))
    mem_seq = current.new_empty((num_steps, *shape)) if keep_mem else None
    mem = current if constant else current[0]  # from rest: mem_0 = I_0
    if mem_seq is not None:
        mem_seq[0].copy_(mem)
    post = torch.empty_like(mem) if num_steps > 1 else mem
    spk = spk_seq[0]
    torch.gt(mem, threshold, out=spk)
    for t in range(1, num_steps):
        if reset_zero:
            torch.addcmul(mem, mem, spk, value=-1.0, out=post)
        else:
            torch.addcmul(mem, spk, threshold, value=-1.0, out=post)
        inp = current if constant else current[t]
        mem = torch.addcmul(inp, post, beta, out=mem_seq[t] if mem_seq is not None else None)
        spk = spk_seq[t]
        torch.gt(mem, threshold, out=spk)
    return spk_seq, mem_seq


def lif_numpy(
    current: np.ndarray,
    beta: np.ndarray,
    threshold: np.ndarray,
    num_steps: int,
    constant: bool,
    reset_zero: bool,
) -> np.ndarray:
    """NumPy twin of :func:`_lif_forward` (inference only, see ``SpikingMLP.forward``).

    Same recurrence, same order of operations; the only numerical difference is that torch's
    ``addcmul`` fuses ``beta * post + I`` into one rounding (FMA), so a membrane that lands within
    one float32 ulp of the threshold may spike in one path and not the other.
    """
    shape = current.shape if constant else current.shape[1:]
    spikes = np.empty((num_steps, *shape), dtype=current.dtype)
    mem = np.array(current if constant else current[0])
    post = np.empty_like(mem)
    np.greater(mem, threshold, out=spikes[0])
    for t in range(1, num_steps):
        if reset_zero:
            np.multiply(mem, spikes[t - 1], out=post)
        else:
            np.multiply(spikes[t - 1], threshold, out=post)
        np.subtract(mem, post, out=post)
        np.multiply(post, beta, out=post)
        np.add(post, current if constant else current[t], out=mem)
        np.greater(mem, threshold, out=spikes[t])
    return spikes


class LIFScan(torch.autograd.Function):
    """LIF recurrence over T with a hand-written backward (see module docstring)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        current: torch.Tensor,
        beta: torch.Tensor,
        threshold: torch.Tensor,
        num_steps: int,
        constant: bool,
        spike_fn: Surrogate,
        reset_zero: bool,
        detach_reset: bool,
    ) -> torch.Tensor:
        spikes, mem_seq = _lif_forward(current, beta, threshold, num_steps, constant, reset_zero, keep_mem=True)
        ctx.save_for_backward(mem_seq, spikes, beta, threshold)
        ctx.cfg = (num_steps, constant, spike_fn, reset_zero, detach_reset)
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor):  # type: ignore[override]
        mem_seq, spikes, beta, threshold = ctx.saved_tensors
        num_steps, constant, spike_fn, reset_zero, detach_reset = ctx.cfg
        need_cur, need_beta, need_thr = ctx.needs_input_grad[:3]
        grad_spikes = grad_spikes.contiguous()
        # One fresh [T, ...] buffer; everything below is done in place in it (see surrogates.py
        # for why: big fresh allocations page-fault on the CPU).
        if detach_reset:
            sg = None
            grad_mem = spike_fn.grad_(mem_seq - threshold, grad_spikes)  # dL/dmem via the spike
        else:
            sg = spike_fn.derivative_(mem_seq - threshold)
            grad_mem = grad_spikes * sg
        # d post_t / d mem_t: the factor that carries gradient from step t+1 back to step t.
        if reset_zero:
            dpost_dmem = 1.0 - spikes if detach_reset else 1.0 - spikes - mem_seq * sg
        else:
            dpost_dmem = None if detach_reset else 1.0 - threshold * sg
        carry = beta if dpost_dmem is None else dpost_dmem.mul_(beta)
        g_spk_sum = grad_mem.sum(0) if need_thr else None  # spike-path part of dL/dthr

        steps = grad_mem.unbind(0)
        carries = (carry,) * num_steps if dpost_dmem is None else carry.unbind(0)
        for t in range(num_steps - 2, -1, -1):
            steps[t].addcmul_(steps[t + 1], carries[t])

        grad_cur = grad_beta = grad_thr = None
        if need_cur:
            grad_cur = grad_mem.sum(0) if constant else grad_mem
        if need_beta or need_thr:
            # gradient arriving at post_t (t < T-1) from mem_{t+1} = beta * post_t + I_{t+1}
            g_post = grad_mem[1:] * beta
        if need_beta:
            post = mem_seq[:-1] * (1.0 - spikes[:-1]) if reset_zero else mem_seq[:-1] - spikes[:-1] * threshold
            grad_beta = (grad_mem[1:] * post).sum_to_size(beta.shape)
        if need_thr:
            # spike path: spk = H(mem - thr) -> -dL/dmem_spike; reset path: d post / d thr.
            g = -g_spk_sum
            s = spikes[:-1]
            if reset_zero:
                if not detach_reset:
                    g = g + (g_post * mem_seq[:-1] * sg[:-1]).sum(0)
            else:
                dpost_dthr = -s if detach_reset else -s + threshold * sg[:-1]
                g = g + (g_post * dpost_dthr).sum(0)
            grad_thr = g.sum_to_size(threshold.shape)
        return grad_cur, grad_beta, grad_thr, None, None, None, None, None


def lif_scan(
    current: torch.Tensor,
    beta: torch.Tensor,
    threshold: torch.Tensor,
    num_steps: int,
    spike_fn: Surrogate,
    constant: bool = False,
    reset_mechanism: str = "subtract",
    detach_reset: bool = True,
) -> torch.Tensor:
    """Spikes ``[T, ...]`` of LIF neurons driven by ``current``.

    :param current: input current, ``[T, B, ...]``, or ``[B, ...]`` when ``constant`` (the same
        current at every step; it is then never expanded in memory).
    :param beta: membrane decay, broadcastable to one step's shape (per-neuron tensor).
    :param threshold: firing threshold, broadcastable likewise.
    :param num_steps: T.
    :param spike_fn: the surrogate (:func:`~sb3_spiking.snn.surrogates.resolve_surrogate`), used
        for the gradient only.
    :param constant: whether ``current`` is constant over time.
    :param reset_mechanism: ``"subtract"`` or ``"zero"``.
    :param detach_reset: treat the reset as a constant in the backward pass.
    """
    reset_zero = reset_mechanism == "zero"
    if torch.is_grad_enabled() and (current.requires_grad or beta.requires_grad or threshold.requires_grad):
        return LIFScan.apply(current, beta, threshold, num_steps, constant, spike_fn, reset_zero, detach_reset)
    # Inference: skip autograd.Function overhead (~10 us per call matters at batch 1).
    return _lif_forward(current, beta, threshold, num_steps, constant, reset_zero, keep_mem=False)[0]


def lif_reference(
    current: torch.Tensor,
    beta: torch.Tensor,
    threshold: torch.Tensor,
    num_steps: int,
    spike_fn: SpikeFn,
    constant: bool = False,
    reset_mechanism: str = "subtract",
    detach_reset: bool = True,
) -> torch.Tensor:
    """Plain-autograd LIF over T: the readable definition :func:`lif_scan` must equal."""
    mem = torch.zeros_like(current if constant else current[0])
    out = []
    for t in range(num_steps):
        mem = beta * mem + (current if constant else current[t])
        spk = spike_fn(mem - threshold)
        reset = spk.detach() if detach_reset else spk
        mem = mem * (1.0 - reset) if reset_mechanism == "zero" else mem - reset * threshold
        out.append(spk)
    return torch.stack(out)


def lif_carry(
    current: torch.Tensor,
    mem: torch.Tensor,
    resets: torch.Tensor | None,
    beta: torch.Tensor,
    threshold: torch.Tensor,
    spike_fn: SpikeFn,
    num_steps: int | None = None,
    reset_mechanism: str = "subtract",
    detach_reset: bool = True,
    recurrent: nn.Module | None = None,
    spikes: torch.Tensor | None = None,
) -> tuple[torch.Tensor, ...]:
    """LIF over S segments of T steps, starting from the membrane ``mem`` instead of rest.

    The recurrence is :func:`lif_reference`'s; the membrane after each step carries on to the next
    step and the next segment (one segment is one decision of a recurrent policy), except where
    ``resets[s]`` is 1: there it is set to rest before segment ``s``. Returns spikes
    ``[S, T, B, ...]`` and the membrane after the last step (after reset), ``[B, ...]``.

    Plain autograd, step by step: gradients flow into ``mem`` and through every carried step
    (backpropagation through time over the whole sequence). The fused :class:`LIFScan` starts
    from rest and has no per-step reset, which this needs.

    :param current: ``[S, T, B, ...]``, or ``[S, B, ...]`` with ``num_steps`` (constant in a segment).
    :param mem: ``[B, ...]``.
    :param resets: ``[S, B]`` (1: rest before the segment) or None (never).
    :param recurrent: recurrent synapses (snnTorch's ``RLeaky``): a module applied to the layer's
        spikes of the previous step, whose output adds to the next step's current. The spikes are
        then state too: ``spikes`` ``[B, ...]`` are the previous step's (zeros: at rest, reset with
        the membrane), and the last step's spikes are returned third.
    """
    constant = num_steps is not None
    segments = current.shape[0]
    steps = num_steps if constant else current.shape[1]
    if mem.shape != current.shape[1 if constant else 2 :]:
        raise ValueError(
            f"lif_carry: the membrane has shape {tuple(mem.shape)}, one step of the current has "
            f"{tuple(current.shape[1 if constant else 2:])}"
        )
    if resets is not None and tuple(resets.shape) != (segments, mem.shape[0]):
        expected = (segments, mem.shape[0])
        raise ValueError(f"lif_carry: resets must be [segments, batch] = {expected}, got {tuple(resets.shape)}")
    keep = None if resets is None else (1.0 - resets).reshape(segments, mem.shape[0], *(1,) * (mem.dim() - 1))
    out = []
    post = mem
    spk = spikes if spikes is not None else (mem.new_zeros(mem.shape) if recurrent is not None else None)
    for s in range(segments):
        if keep is not None:
            post = post * keep[s]
            spk = spk * keep[s] if recurrent is not None else spk
        for t in range(steps):
            v = beta * post + (current[s] if constant else current[s, t])
            if recurrent is not None:
                v = v + recurrent(spk)
            spk = spike_fn(v - threshold)
            reset = spk.detach() if detach_reset else spk
            post = v * (1.0 - reset) if reset_mechanism == "zero" else v - reset * threshold
            out.append(spk)
    seq = torch.stack(out).view(segments, steps, *mem.shape)
    return (seq, post, spk) if recurrent is not None else (seq, post)


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
        mem = current if mem is None else beta * mem + current
        spk = self.spike_fn(mem - thr)
        reset = spk.detach() if self.detach_reset else spk
        mem = mem * (1.0 - reset) if self.reset_mechanism == "zero" else mem - reset * thr
        return spk, mem

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
                current, mem, resets, beta, thr, self.spike_fn, num_steps, self.reset_mechanism, self.detach_reset,
                recurrent, spikes,
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
