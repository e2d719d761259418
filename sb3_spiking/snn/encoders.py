"""Encoders: observations ``[B, D]`` -> what the first synaptic layer sees.

An encoder returns either a **constant** tensor ``[B, F]`` (the same input at every time step, so
the first synaptic layer is computed once) or a time-major sequence ``[T, B, F]``. Two class
attributes tell the network (and the energy accounting) what comes out:

- ``constant``: output is ``[B, F]`` and constant over time;
- ``emits_spikes``: output is binary spikes (synaptic operations) rather than real values (MACs).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from sb3_spiking.snn.neurons import numpy_view
from sb3_spiking.snn.validation import check_int

ENCODERS = ("direct", "rate", "learnable", "population")

#: Firing threshold of the deterministic spike generators (PopSAN's encoder uses 0.999).
REGULAR_THRESHOLD = 0.999


def regular_spikes(rate: torch.Tensor, num_steps: int, threshold: float = REGULAR_THRESHOLD) -> torch.Tensor:
    """Deterministic spike trains ``[T, ...]`` for activations ``rate`` in [0, 1].

    Equivalent to integrate-and-fire neurons driven by the constant current ``rate`` (no leak,
    subtractive reset; PopSAN's deterministic encoder): the neuron has fired
    ``floor((t + 1) * rate / threshold)`` times after step t. Written in closed form -- four
    tensor ops for any T instead of three per step, which matters at batch 1 -- and with PopSAN's
    pseudo-gradient: each spike passes its gradient straight to ``rate`` (d spike_t / d rate = 1).
    """
    shape = (num_steps,) + (1,) * rate.dim()
    steps = torch.arange(1, num_steps + 1, dtype=rate.dtype, device=rate.device).view(shape)
    per_step = (rate.detach() / threshold).clamp_(max=1.0)  # at most one spike per step
    counts = torch.floor_(steps * per_step)
    spikes = counts.clone()
    spikes[1:] -= counts[:-1]
    if rate.requires_grad:
        spikes = spikes + (rate - rate.detach())
    return spikes


def _finite_bounds(
    in_features: int, low: np.ndarray | torch.Tensor | None, high: np.ndarray | torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(low, high, finite mask) as float tensors of shape [in_features]; non-finite -> +-inf."""
    lo = torch.full((in_features,), -math.inf) if low is None else torch.as_tensor(low, dtype=torch.float32).flatten()
    hi = torch.full((in_features,), math.inf) if high is None else torch.as_tensor(high, dtype=torch.float32).flatten()
    if lo.numel() != in_features or hi.numel() != in_features:
        raise ValueError(f"obs bounds have {lo.numel()}/{hi.numel()} entries, expected {in_features}")
    finite = torch.isfinite(lo) & torch.isfinite(hi) & (hi > lo)
    return lo, hi, finite


def regular_spikes_numpy(rate: np.ndarray, num_steps: int, threshold: float = REGULAR_THRESHOLD) -> np.ndarray:
    """NumPy twin of :func:`regular_spikes` (inference only)."""
    steps = np.arange(1, num_steps + 1, dtype=rate.dtype).reshape((num_steps,) + (1,) * rate.ndim)
    counts = np.floor(steps * np.minimum(rate / np.float32(threshold), 1.0).astype(rate.dtype))
    spikes = counts.copy()
    spikes[1:] -= counts[:-1]
    return spikes


#: Products with at most this many multiply-adds run in NumPy, larger ones in torch (see below).
NUMPY_MATMUL_MAX_MACS = 8192


def _linear_numpy(layer: nn.Linear, x: np.ndarray) -> np.ndarray:
    """``layer(x)`` for the NumPy path.

    Large products go through torch, not ``x @ W.T`` in NumPy: NumPy's OpenBLAS runs them on its
    own worker threads (for gemv once ``m * n >= 2304 * 4``), which busy-wait after each call.
    Measured on the 2-core CI machine: two SpikingTD3 runs side by side took 2.5x longer, an
    OpenBLAS thread per process spinning at 60-100% CPU against the torch thread of the other run.
    torch honours ``torch.set_num_threads`` like the rest of the model. Tiny products (the first
    layer of a direct encoder, a decoder with few outputs) stay single-threaded in OpenBLAS and
    cost ~7 us in NumPy against ~25 us through torch at batch 1.
    """
    weight = numpy_view(layer, "weight")
    if x.size * weight.shape[0] <= NUMPY_MATMUL_MAX_MACS:
        out = x @ weight.T
        if layer.bias is not None:
            out += numpy_view(layer, "bias")
        return out
    return torch.nn.functional.linear(torch.from_numpy(x), layer.weight, layer.bias).numpy()


class Encoder(nn.Module):
    """Base class. ``out_features`` is F, the width the first synaptic layer receives.

    Subclasses may define ``numpy_forward(obs: np.ndarray) -> np.ndarray``, the NumPy twin of
    :meth:`forward` used by the inference fast path; :meth:`numpy_ready` says whether it can be
    used right now (not for stochastic coding, say). Encoders without it always run in torch.
    """

    constant: bool = False
    emits_spikes: bool = False

    def __init__(self, in_features: int, num_steps: int) -> None:
        super().__init__()
        self.in_features = in_features
        self.num_steps = num_steps
        self.out_features = in_features

    def numpy_ready(self) -> bool:
        return hasattr(self, "numpy_forward")


class DirectEncoder(Encoder):
    """The observation itself, as a constant input current (no extra parameters)."""

    constant = True

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return obs

    def numpy_forward(self, obs: np.ndarray) -> np.ndarray:
        return obs


class RateEncoder(Encoder):
    """Rate (Bernoulli) coding of a normalised observation.

    Each dimension is mapped to a firing probability in [0, 1]: with finite bounds
    ``(obs - low) / (high - low)`` (clipped), otherwise ``sigmoid(obs)``. Training mode draws
    Bernoulli spikes (from a private generator when a ``seed`` is given, else torch's global RNG,
    which SB3's ``seed`` sets). Eval mode is deterministic: the regular spike train of
    :func:`regular_spikes` (about ``p * T`` spikes), so ``predict`` is a pure function of the
    observation.

    :param low: per-dimension lower bound (``None`` or non-finite: sigmoid squashing).
    :param high: per-dimension upper bound.
    :param seed: seed of a private generator for the training-mode spikes.
    """

    emits_spikes = True

    def __init__(
        self,
        in_features: int,
        num_steps: int,
        low: np.ndarray | torch.Tensor | None = None,
        high: np.ndarray | torch.Tensor | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(in_features, num_steps)
        lo, hi, finite = _finite_bounds(in_features, low, high)
        self.register_buffer("low", torch.where(finite, lo, torch.zeros_like(lo)))
        self.register_buffer("span", torch.where(finite, hi - lo, torch.ones_like(lo)))
        self.register_buffer("bounded", finite)
        self.seed = seed
        self._generator: torch.Generator | None = None

    def probabilities(self, obs: torch.Tensor) -> torch.Tensor:
        scaled = ((obs - self.low) / self.span).clamp(0.0, 1.0)
        return torch.where(self.bounded, scaled, torch.sigmoid(obs))

    def numpy_ready(self) -> bool:
        return not self.training  # training-mode Bernoulli spikes stay with torch's RNG

    def numpy_forward(self, obs: np.ndarray) -> np.ndarray:
        low, span, bounded = (numpy_view(self, name) for name in ("low", "span", "bounded"))
        scaled = np.clip((obs - low) / span, 0.0, 1.0)
        p = np.where(bounded, scaled, 1.0 / (1.0 + np.exp(-obs))).astype(obs.dtype)
        return regular_spikes_numpy(p, self.num_steps)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        p = self.probabilities(obs)
        if not self.training:
            return regular_spikes(p, self.num_steps)  # carries its own straight-through gradient
        if self.seed is not None and (self._generator is None or self._generator.device != p.device):
            self._generator = torch.Generator(device=p.device)
            self._generator.manual_seed(self.seed)
        spikes = torch.bernoulli(p.expand(self.num_steps, *p.shape), generator=self._generator)
        if p.requires_grad:
            # The same straight-through gradient as regular_spikes (d spike_t / d p = 1): sampling
            # alone has none, so a rate-coded critic gave the actor dQ/da = 0 in training mode
            # (its input is the action) and the actor never moved.
            spikes = spikes + (p - p.detach())
        return spikes

    def __getstate__(self):  # generators do not pickle/deepcopy; a copy restarts from the seed
        state = self.__dict__.copy()
        state["_generator"] = None
        return state


class LearnableEncoder(Encoder):
    """ACSF learnable coding: ``Linear(D, D*T)`` reshaped into T real-valued input frames."""

    def __init__(self, in_features: int, num_steps: int) -> None:
        super().__init__(in_features, num_steps)
        self.linear = nn.Linear(in_features, in_features * num_steps)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        frames = self.linear(obs).view(obs.shape[0], self.num_steps, self.in_features)
        return frames.transpose(0, 1)

    def numpy_forward(self, obs: np.ndarray) -> np.ndarray:
        frames = _linear_numpy(self.linear, obs).reshape(obs.shape[0], self.num_steps, self.in_features)
        return frames.transpose(1, 0, 2)


class PopulationEncoder(Encoder):
    """PopSAN population coding with learnable Gaussian receptive fields.

    Each observation dimension drives ``pop_dim`` neurons with activation
    ``exp(-0.5 (s - mu)^2 / sigma^2)``. Centres start evenly spaced over ``[low, high]`` where the
    bounds are finite (else over ``mean_range``, PopSAN's [-3, 3] for z-scored observations) and
    the width starts at ``std`` scaled by the same range (PopSAN: sqrt(0.15) on [-3, 3]). The
    activations drive integrate-and-fire neurons (threshold 0.999, subtractive reset, identity
    surrogate) -- PopSAN's deterministic spike encoding -- so ``mu`` and ``sigma`` get gradients.

    :param pop_dim: neurons per observation dimension.
    :param mean_range: centre range for unbounded dimensions.
    :param std: initial width on a range of 6 (scaled with the range).
    :param learnable: train ``mu`` and ``sigma``.
    """

    emits_spikes = True

    def __init__(
        self,
        in_features: int,
        num_steps: int,
        pop_dim: int = 10,
        low: np.ndarray | torch.Tensor | None = None,
        high: np.ndarray | torch.Tensor | None = None,
        mean_range: tuple[float, float] = (-3.0, 3.0),
        std: float = math.sqrt(0.15),
        learnable: bool = True,
    ) -> None:
        super().__init__(in_features, num_steps)
        self.pop_dim = check_int("pop_dim", pop_dim)
        self.out_features = in_features * pop_dim
        lo, hi, finite = _finite_bounds(in_features, low, high)
        lo = torch.where(finite, lo, torch.full_like(lo, float(mean_range[0])))
        hi = torch.where(finite, hi, torch.full_like(hi, float(mean_range[1])))
        steps = torch.linspace(0.0, 1.0, pop_dim) if pop_dim > 1 else torch.full((1,), 0.5)
        mu = lo[:, None] + (hi - lo)[:, None] * steps[None, :]
        sigma = (std * (hi - lo) / 6.0)[:, None].expand(-1, pop_dim).clone()
        self.mu = nn.Parameter(mu, requires_grad=learnable)
        self.sigma = nn.Parameter(sigma, requires_grad=learnable)

    def activation(self, obs: torch.Tensor) -> torch.Tensor:
        """Receptive-field activations ``[B, D * pop_dim]`` in (0, 1]."""
        z = (obs.unsqueeze(-1) - self.mu) / self.sigma
        return torch.exp(-0.5 * z * z).flatten(1)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return regular_spikes(self.activation(obs), self.num_steps)

    def numpy_forward(self, obs: np.ndarray) -> np.ndarray:
        z = (obs[:, :, None] - numpy_view(self, "mu")) / numpy_view(self, "sigma")
        return regular_spikes_numpy(np.exp(-0.5 * z * z).reshape(obs.shape[0], -1), self.num_steps)


def make_encoder(
    name: str,
    in_features: int,
    num_steps: int,
    low: np.ndarray | torch.Tensor | None = None,
    high: np.ndarray | torch.Tensor | None = None,
    **kwargs,
) -> Encoder:
    """Build an encoder by name (``direct``, ``rate``, ``learnable``, ``population``).

    ``low``/``high`` are the observation bounds, used by the encoders that normalise.
    ``kwargs`` are the encoder's own options (``encoder_kwargs``); unknown ones raise TypeError.
    """
    if name == "direct":
        return DirectEncoder(in_features, num_steps, **kwargs)
    if name == "rate":
        return RateEncoder(in_features, num_steps, low=low, high=high, **kwargs)
    if name == "learnable":
        return LearnableEncoder(in_features, num_steps, **kwargs)
    if name == "population":
        return PopulationEncoder(in_features, num_steps, low=low, high=high, **kwargs)
    raise ValueError(f"Unknown encoder={name!r}; allowed: {ENCODERS}")
