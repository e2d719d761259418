"""The LIF recurrence over T, as functions (the neuron modules in :mod:`.neurons` call them).

- :func:`lif_scan`: the fast path, a fused :class:`LIFScan` (hand-written backward) for training,
  :func:`_lif_forward` without autograd for inference;
- :func:`lif_carry`: the plain-autograd definition, step by step, from any membrane (recurrent
  policies); :func:`lif_reference` is its from-rest case, the readable definition tests compare
  :func:`lif_scan` against, forward and backward;
- :func:`lif_numpy`: the NumPy twin of :func:`_lif_forward` (the batch-1 inference route, see
  :meth:`~sb3_spiking.snn.network.SpikingMLP.numpy_ready`).

See :mod:`.neurons` for the equations and the measured reason for the fused scan.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from sb3_spiking.snn.surrogates import SpikeFn, Surrogate


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
    """Plain-autograd LIF over T from rest: the readable definition :func:`lif_scan` must equal.

    One segment of :func:`lif_carry` starting from a zero membrane (the recurrence is written once).
    """
    rest = torch.zeros_like(current if constant else current[0])
    spikes, _ = lif_carry(
        current[None], rest, None, beta, threshold, spike_fn, num_steps if constant else None, reset_mechanism, detach_reset
    )
    return spikes[0]


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

    The plain-autograd definition of the recurrence (the module docstring's equations, step by
    step); :func:`lif_reference` and :meth:`LIF.step` are its special cases. The membrane after
    each step carries on to the next
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
            f"{tuple(current.shape[1 if constant else 2 :])}"
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
