"""The one spiking-option vocabulary, validated in one place.

Every algorithm of the package takes these keys in ``policy_kwargs``; the RL layer adds only
``spiking_critic`` and ``spiking`` (see :mod:`sb3_spiking.common.options`).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

from sb3_spiking.snn.decoders import (
    DECODERS,
    LearnableDecoder,
    MembraneDecoder,
    PopulationDecoder,
    RateDecoder,
    SpikeCountDecoder,
)
from sb3_spiking.snn.encoders import ENCODERS, DirectEncoder, LearnableEncoder, PopulationEncoder, RateEncoder
from sb3_spiking.snn.neurons import NEURONS, RESET_MECHANISMS, LeakyReadout
from sb3_spiking.snn.surrogates import resolve_surrogate

MEMBRANE_READOUTS = LeakyReadout.READOUTS

# Options each encoder/decoder accepts in encoder_kwargs/decoder_kwargs (the rest are wired by us).
_ENCODER_CLASSES = {"direct": DirectEncoder, "rate": RateEncoder, "learnable": LearnableEncoder, "population": PopulationEncoder}
_DECODER_CLASSES = {
    "membrane": MembraneDecoder,
    "rate": RateDecoder,
    "learnable": LearnableDecoder,
    "population": PopulationDecoder,
    "spike_count": SpikeCountDecoder,
}
_WIRED = {"self", "in_features", "out_features", "num_steps", "low", "high", "readout", "beta", "learn_beta", "neuron_kwargs"}


def _user_kwargs(cls: type) -> set[str]:
    params = inspect.signature(cls.__init__).parameters
    return {n for n, p in params.items() if n not in _WIRED and p.kind is not p.VAR_KEYWORD}


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``; bools, floats and None are refused with a clear error."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r} ({type(value).__name__})")
    return int(value)


def check_choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"Unknown {name}={value!r}; allowed values: {', '.join(allowed)}")
    return value


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _check_real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


@dataclasses.dataclass(frozen=True)
class SpikingOptions:
    """Validated spiking options (see the option table, docs/guide/spiking_options.md).

    :param num_steps: T, simulation time steps per decision (int >= 1).
    :param encoder: ``"direct"``, ``"rate"``, ``"learnable"`` or ``"population"``.
    :param decoder: ``"membrane"``, ``"rate"``, ``"learnable"``, ``"population"`` or
        ``"spike_count"`` (spiking output neurons, spike count + final membrane: converted DQNs).
    :param membrane_readout: ``"max"``, ``"mean"`` or ``"last"``; membrane decoder only
        (``None`` -> ``"max"``).
    :param beta: membrane decay of every LIF/LI neuron, in (0, 1].
    :param threshold: firing threshold, > 0.
    :param surrogate: snnTorch surrogate name (``"atan"``, ``"fast_sigmoid"``, ...) or function.
    :param learn_beta: per-neuron trainable decay.
    :param learn_threshold: per-neuron trainable threshold.
    :param reset_mechanism: ``"subtract"`` or ``"zero"``.
    :param detach_reset: no gradient through the reset.
    :param encoder_kwargs: encoder-specific options (e.g. ``pop_dim`` for population coding).
    :param decoder_kwargs: decoder-specific options (e.g. ``pop_dim`` for population decoding).
    :param neuron: hidden units, ``"lif"`` (spiking, default) or ``"relu"`` (real-valued ReLU units
        run per time step: not a spiking network; ACSF's "learnable coders around an ANN" ablation).
    """

    num_steps: int = 5
    encoder: str = "direct"
    decoder: str = "membrane"
    membrane_readout: str | None = None
    beta: float = 0.5
    threshold: float = 1.0
    surrogate: str | Callable = "atan"
    learn_beta: bool = False
    learn_threshold: bool = False
    reset_mechanism: str = "subtract"
    detach_reset: bool = True
    encoder_kwargs: dict[str, Any] | None = None
    decoder_kwargs: dict[str, Any] | None = None
    neuron: str = "lif"

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        set_("num_steps", check_int("num_steps", self.num_steps))
        check_choice("encoder", self.encoder, ENCODERS)
        check_choice("decoder", self.decoder, DECODERS)
        if self.membrane_readout is not None:
            check_choice("membrane_readout", self.membrane_readout, MEMBRANE_READOUTS)
            if self.decoder != "membrane":
                raise ValueError(
                    f"membrane_readout={self.membrane_readout!r} only applies to decoder='membrane' "
                    f"(got decoder={self.decoder!r}); remove it or use decoder='membrane'"
                )
        beta = _check_real("beta", self.beta)
        if not 0.0 < beta <= 1.0:
            raise ValueError(f"beta must be in (0, 1] (membrane decay per step), got {self.beta!r}")
        set_("beta", beta)
        threshold = _check_real("threshold", self.threshold)
        if threshold <= 0.0:
            raise ValueError(f"threshold must be > 0, got {self.threshold!r}")
        set_("threshold", threshold)
        resolve_surrogate(self.surrogate)
        for name in ("learn_beta", "learn_threshold", "detach_reset"):
            check_bool(name, getattr(self, name))
        check_choice("reset_mechanism", self.reset_mechanism, RESET_MECHANISMS)
        check_choice("neuron", self.neuron, NEURONS)
        for name, choice, classes in (
            ("encoder_kwargs", self.encoder, _ENCODER_CLASSES),
            ("decoder_kwargs", self.decoder, _DECODER_CLASSES),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, dict):
                raise TypeError(f"{name} must be a dict or None, got {type(value).__name__}")
            allowed = _user_kwargs(classes[choice])
            unknown = set(value) - allowed
            if unknown:
                raise ValueError(
                    f"{name} has unknown key(s) {sorted(unknown)} for {name[:7]}={choice!r}; "
                    f"allowed: {sorted(allowed) or 'none'}"
                )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def neuron_kwargs(self) -> dict[str, Any]:
        """Options shared by every LIF layer."""
        return dict(
            beta=self.beta,
            threshold=self.threshold,
            surrogate=self.surrogate,
            learn_beta=self.learn_beta,
            learn_threshold=self.learn_threshold,
            reset_mechanism=self.reset_mechanism,
            detach_reset=self.detach_reset,
        )

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.field_names()}
