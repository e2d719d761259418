"""Shared fixtures."""

import pytest
import torch as th


@pytest.fixture(scope="module")
def one_thread():
    """Single-threaded torch for a test module: with other processes on the 2 cores, torch's 2
    threads spin against them (a 5k-step DQN fixture took 212 s instead of 6 s)."""
    threads = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(threads)
