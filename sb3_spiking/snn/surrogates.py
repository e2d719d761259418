"""Surrogate spike functions, resolved from snnTorch.

We never write our own surrogate: a name maps to a factory in :mod:`snntorch.surrogate`, and a
user may pass any snnTorch-style spike function (``surrogate.atan(alpha=3)``, a
``surrogate.custom_surrogate(...)``) directly. The engine only ever calls the function to obtain
its *derivative* (see :func:`surrogate_grad`), so the forward pass stays a plain comparison.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from snntorch import surrogate as _sg

SpikeFn = Callable[[torch.Tensor], torch.Tensor]

#: Names accepted by the ``surrogate`` option, with the snnTorch factory each one calls.
SURROGATES: dict[str, Callable[[], SpikeFn]] = {
    "atan": lambda: _sg.atan(alpha=2.0),
    "fast_sigmoid": lambda: _sg.fast_sigmoid(slope=25),
    "sigmoid": lambda: _sg.sigmoid(slope=25),
    "straight_through": _sg.straight_through_estimator,
    "spike_rate_escape": lambda: _sg.spike_rate_escape(beta=1, slope=25),
    "sfs": lambda: _sg.SFS(slope=25, B=1),
}

# Present in snnTorch 1.0.0 but broken there (wrong sign of the gradient / wrong apply signature).
_BROKEN = {"triangular": "its backward flips the sign above threshold", "lso": "its factory calls the wrong Function"}


def resolve_surrogate(surrogate: str | SpikeFn) -> SpikeFn:
    """Return the snnTorch spike function for ``surrogate``.

    :param surrogate: a name from :data:`SURROGATES` or an snnTorch-style spike function (a callable
        mapping ``mem - threshold`` to spikes, whose forward is the Heaviside step).
    :raises ValueError: for an unknown name, a broken snnTorch surrogate, or a callable whose
        forward is not a Heaviside step.
    :raises TypeError: for anything that is neither a string nor callable.
    """
    if isinstance(surrogate, str):
        key = surrogate.lower()
        if key in _BROKEN:
            raise ValueError(
                f"surrogate={surrogate!r} is broken in snnTorch 1.0.0 ({_BROKEN[key]}); "
                f"choose one of {sorted(SURROGATES)} or pass an snnTorch surrogate function"
            )
        if key not in SURROGATES:
            raise ValueError(
                f"Unknown surrogate={surrogate!r}; allowed names: {sorted(SURROGATES)}, "
                "or an snnTorch surrogate function such as snntorch.surrogate.atan(alpha=2.0)"
            )
        return SURROGATES[key]()
    if not callable(surrogate):
        raise TypeError(
            f"surrogate must be a name in {sorted(SURROGATES)} or an snnTorch surrogate function, "
            f"got {type(surrogate).__name__}"
        )
    probe = torch.tensor([-1.0, -0.25, 0.25, 1.0])
    try:
        out = surrogate(probe)
    except Exception as exc:  # a callable with the wrong signature
        raise ValueError(f"surrogate {surrogate!r} could not be called on a tensor: {exc}") from exc
    if not isinstance(out, torch.Tensor) or not torch.equal(out, (probe > 0).to(out.dtype)):
        raise ValueError(
            f"surrogate {surrogate!r} must return Heaviside spikes (x > 0) in its forward pass, "
            "like the functions in snntorch.surrogate"
        )
    return surrogate


def surrogate_grad(spike_fn: SpikeFn, x: torch.Tensor, grad_output: torch.Tensor) -> torch.Tensor:
    """``grad_output * d spike_fn(x) / dx`` for an element-wise snnTorch spike function.

    snnTorch keeps each surrogate's derivative inside its ``autograd.Function.backward``; asking
    autograd for it once over a whole ``[T, ...]`` tensor reuses that code without copying it and
    costs one vectorised call instead of one per time step.
    """
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        y = spike_fn(x)
    (grad,) = torch.autograd.grad(y, x, grad_output)
    return grad
