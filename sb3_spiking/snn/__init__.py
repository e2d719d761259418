"""The spiking engine: tensors in, tensors out. No SB3 or Gymnasium imports here."""

from sb3_spiking.snn.accounting import ENERGY_PER_AC_J, ENERGY_PER_MAC_J, OpCounter
from sb3_spiking.snn.decoders import (
    DECODERS,
    Decoder,
    LearnableDecoder,
    MembraneDecoder,
    PopulationDecoder,
    RateDecoder,
    SpikeCountDecoder,
    make_decoder,
)
from sb3_spiking.snn.encoders import (
    ENCODERS,
    DirectEncoder,
    Encoder,
    LearnableEncoder,
    PopulationEncoder,
    RateEncoder,
    make_encoder,
)
from sb3_spiking.snn.network import SpikingMLP, SpikingNatureCNN, SpikingNetwork, check_finite_input
from sb3_spiking.snn.neurons import LIF, NEURONS, LeakyReadout, ReLUUnits, lif_carry, lif_reference, lif_scan
from sb3_spiking.snn.options import MEMBRANE_READOUTS, SpikingOptions
from sb3_spiking.snn.stateful import StatefulSpikingMLP
from sb3_spiking.snn.surrogates import SURROGATES, resolve_surrogate

__all__ = [
    "DECODERS",
    "ENCODERS",
    "ENERGY_PER_AC_J",
    "ENERGY_PER_MAC_J",
    "LIF",
    "MEMBRANE_READOUTS",
    "NEURONS",
    "SURROGATES",
    "Decoder",
    "DirectEncoder",
    "Encoder",
    "LeakyReadout",
    "LearnableDecoder",
    "LearnableEncoder",
    "MembraneDecoder",
    "OpCounter",
    "PopulationDecoder",
    "PopulationEncoder",
    "RateDecoder",
    "RateEncoder",
    "ReLUUnits",
    "SpikeCountDecoder",
    "SpikingMLP",
    "SpikingNatureCNN",
    "SpikingNetwork",
    "SpikingOptions",
    "StatefulSpikingMLP",
    "check_finite_input",
    "lif_carry",
    "lif_reference",
    "lif_scan",
    "make_decoder",
    "make_encoder",
    "resolve_surrogate",
]
