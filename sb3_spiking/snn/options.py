"""The one spiking-option vocabulary, validated in one place.

Every algorithm of the package takes these keys in ``policy_kwargs``; the RL layer adds only
``spiking_critic`` and ``spiking`` (see :mod:`sb3_spiking.common.options`).
"""

from __future__ import annotations

import dataclasses
import inspect
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
from sb3_spiking.snn.validation import check_bool, check_choice, check_int, check_real

MEMBRANE_READOUTS = LeakyReadout.READOUTS

# check_int, check_choice and check_bool are imported from here by user code: they stay importable.
__all__ = ["MEMBRANE_READOUTS", "SpikingOptions", "check_bool", "check_choice", "check_int"]

# Options each encoder/decoder accepts in encoder_kwargs/decoder_kwargs (the rest are wired by us).
_ENCODER_CLASSES = {
    "direct": DirectEncoder,
    "rate": RateEncoder,
    "learnable": LearnableEncoder,
    "population": PopulationEncoder,
}
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
        set_("beta", check_real("beta", self.beta, 0.0, 1.0, low_open=True, note="membrane decay per step"))
        set_("threshold", check_real("threshold", self.threshold, 0.0, low_open=True))
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
