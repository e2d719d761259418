"""ANN-to-SNN conversion of trained DQNs into spiking DSQNs.

- :mod:`.dqn`: the library (``convert_dqn``, ``record_frames``, ``layer_scales``, ``action_agreement``);
- :mod:`.cli`: ``python -m sb3_spiking.conversion`` (``python -m sb3_spiking.convert`` still works).
"""

from sb3_spiking.conversion.dqn import (
    CALIBRATION_EPS,
    CONVERTED_BUFFER_SIZE,
    MAX_ACTIVATION_SAMPLES,
    action_agreement,
    convert_dqn,
    layer_scales,
    record_frames,
)

__all__ = [
    "CALIBRATION_EPS",
    "CONVERTED_BUFFER_SIZE",
    "MAX_ACTIVATION_SAMPLES",
    "action_agreement",
    "convert_dqn",
    "layer_scales",
    "record_frames",
]
