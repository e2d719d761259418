"""Surrogate spike functions, resolved from snnTorch.

A name maps to a factory in :mod:`snntorch.surrogate`; a user may also pass any snnTorch-style
spike function (``surrogate.atan(alpha=3)``, ``surrogate.custom_surrogate(...)``). The result is a
:class:`Surrogate`: calling it runs snnTorch's own function (forward and backward), and
:meth:`Surrogate.grad` gives ``grad_output * d spike / dx`` for the time-batched backward of the
LIF scan.

Why a fused derivative for the named surrogates: snnTorch computes them inside
``autograd.Function.backward`` with expressions such as ``alpha / 2 / (1 + ...)``; on the PyTorch
2.13 CPU build a Python-scalar-divided-by-tensor takes a slow path, so ``atan``'s backward on a
``[5, 256, 256]`` tensor costs 3.5 ms, against 0.2 ms for the same formula written with
in-place ops (measured on this project's 2-core CI machine). ``tests/test_neurons.py`` checks
every fused derivative against snnTorch's autograd on random inputs. Custom callables fall back
to asking autograd for snnTorch's derivative, once over the whole ``[T, ...]`` tensor.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from snntorch import surrogate as _sg

SpikeFn = Callable[[torch.Tensor], torch.Tensor]

#: Names accepted by the ``surrogate`` option: snnTorch factory and the parameters we call it with.
SURROGATES: dict[str, tuple[Callable[..., SpikeFn], dict[str, float]]] = {
    "atan": (_sg.atan, {"alpha": 2.0}),
    "fast_sigmoid": (_sg.fast_sigmoid, {"slope": 25.0}),
    "sigmoid": (_sg.sigmoid, {"slope": 25.0}),
    "straight_through": (_sg.straight_through_estimator, {}),
    "spike_rate_escape": (_sg.spike_rate_escape, {"beta": 1.0, "slope": 25.0}),
    "sfs": (_sg.SFS, {"slope": 25.0, "B": 1.0}),
}

# Present in snnTorch 1.0.0 but broken there.
_BROKEN = {
    "triangular": "its backward flips the sign of the gradient above threshold",
    "lso": "its factory applies the wrong autograd Function",
}


def _derivative_(name: str, p: dict[str, float], x: torch.Tensor) -> torch.Tensor:
    """d spike / dx of snnTorch's surrogate ``name``, computed **in place** in ``x``.

    In place because fresh multi-MB tensors page-fault on every allocation on the CPU: four
    chained out-of-place ops on [5, 256, 256] take 520 us, in place about a quarter of that.
    """
    if name == "atan":
        x.mul_(math.pi / 2 * p["alpha"])
        return x.mul_(x).add_(1.0).reciprocal_().mul_(p["alpha"] / 2)
    if name == "fast_sigmoid":
        x.abs_().mul_(p["slope"]).add_(1.0)
        return x.mul_(x).reciprocal_()
    if name == "sfs":
        keep = x > p["B"]
        x.abs_().mul_(p["slope"]).add_(1.0)
        return x.mul_(x).reciprocal_().mul_(keep)
    if name == "sigmoid":
        # slope * e^{-kx} / (e^{-kx} + 1)^2 written as slope * sigmoid(kx) * sigmoid(-kx): the same
        # value, accurate in both tails, and finite where snnTorch's form overflows to inf/inf
        # (kx < -88).
        x.mul_(p["slope"])
        s = torch.sigmoid(x)
        return x.neg_().sigmoid_().mul_(s).mul_(p["slope"])
    if name == "spike_rate_escape":
        return x.sub_(1.0).abs_().mul_(-p["beta"]).exp_().mul_(p["slope"])
    raise KeyError(name)


class Surrogate:
    """An snnTorch spike function with a fast, vectorised derivative.

    :param fn: the snnTorch spike function (maps ``mem - threshold`` to spikes).
    :param name: registry name when ``fn`` came from :data:`SURROGATES`, else ``None``.
    :param params: the parameters ``fn`` was built with (named surrogates only).
    """

    def __init__(self, fn: SpikeFn, name: str | None = None, params: dict[str, float] | None = None) -> None:
        self.fn = fn
        self.name = name
        self.params = dict(params or {})

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)

    def grad_(self, x: torch.Tensor, grad_output: torch.Tensor) -> torch.Tensor:
        """``grad_output * d spike(x) / dx``, element-wise; may overwrite and return ``x``."""
        if self.name == "straight_through":
            return x.copy_(grad_output)
        if self.name is not None:
            return _derivative_(self.name, self.params, x).mul_(grad_output)
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            y = self.fn(x)
        (grad,) = torch.autograd.grad(y, x, grad_output)
        return grad

    def derivative_(self, x: torch.Tensor) -> torch.Tensor:
        """``d spike(x) / dx``, element-wise; may overwrite and return ``x``."""
        if self.name == "straight_through":
            return x.fill_(1.0)
        if self.name is not None:
            return _derivative_(self.name, self.params, x)
        return self.grad_(x, torch.ones_like(x))

    def __reduce__(self):  # snnTorch's closures do not pickle; rebuild named ones from the name
        return (resolve_surrogate, (self.name if self.name is not None else self.fn,))

    def __repr__(self) -> str:
        return f"Surrogate({self.name or self.fn!r})"


def resolve_surrogate(surrogate: str | SpikeFn | Surrogate) -> Surrogate:
    """Return the :class:`Surrogate` for ``surrogate``.

    :param surrogate: a name from :data:`SURROGATES` or an snnTorch-style spike function (a callable
        mapping ``mem - threshold`` to spikes, whose forward is the Heaviside step).
    :raises ValueError: for an unknown name, a broken snnTorch surrogate, or a callable whose
        forward is not a Heaviside step.
    :raises TypeError: for anything that is neither a string nor callable.
    """
    if isinstance(surrogate, Surrogate):
        return surrogate
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
        factory, params = SURROGATES[key]
        return Surrogate(factory(**params), key, params)
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
    return Surrogate(surrogate)
