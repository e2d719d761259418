"""Offline RL: Minari behaviour datasets and loading them into SB3 replay buffers.

``python -m sb3_spiking.offline --help`` lists the commands (collect a dataset, train offline).
"""

from sb3_spiking.offline.datasets import (
    DEFAULT_NOISE_STD,
    DEFAULT_RANDOM_PROB,
    behaviour_action,
    check_spaces_match,
    collect_dataset,
    dataset_to_replay_buffer,
    load_dataset,
)

__all__ = [
    "DEFAULT_NOISE_STD",
    "DEFAULT_RANDOM_PROB",
    "behaviour_action",
    "check_spaces_match",
    "collect_dataset",
    "dataset_to_replay_buffer",
    "load_dataset",
]
