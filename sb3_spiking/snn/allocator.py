"""Keep freed CPU memory in the process (glibc ``mallopt``), so big tensors do not page-fault.

Why: a spiking layer's tensors are ``[T, B, N]`` (1.3 MB for T=5, batch 256, width 256). glibc
hands blocks that large out with ``mmap`` and gives them back to the kernel on ``free`` (or trims
the heap top), so every training step maps fresh pages and takes a page fault per 4 KiB on first
touch: measured ~440 faults per forward + backward of a [256, 256] SpikingTD3 actor, and 15.4 ms
against 10.7 ms for the same computation once freed blocks are kept for reuse (2-core CI machine,
one torch thread; an ANN actor's 256-row tensors gain less, 2.5 -> 2.0 ms). PyTorch's CPU
allocator has no cache of its own; it calls ``posix_memalign``/``free`` every time.

:func:`keep_freed_memory` raises glibc's mmap threshold to 256 MiB and its trim threshold to
1 GiB, once per process: blocks below 256 MiB come from the heap and freed memory stays there for
the next step (the spiking decision transformer's backward buffers exceed 32 MiB, glibc's largest
automatic threshold). The cost is that the process keeps its peak heap size (memory is reused, not
leaked). It is process-wide, so an ANN trained in the same process benefits as well (the speed
benchmarks time both in one process). Every :class:`~sb3_spiking.snn.neurons.LIF` layer calls it
when built (so every spiking network, the decision transformer included). To leave the allocator
alone: ``LIF.keep_freed_memory = False`` in code before the first network is built, or the
environment variable ``SB3_SPIKING_KEEP_MEMORY=0``. No effect (and no error) where the C library
is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

ENV_VAR = "SB3_SPIKING_KEEP_MEMORY"
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h
MMAP_THRESHOLD = 256 * 1024 * 1024
TRIM_THRESHOLD = 1024 * 1024 * 1024

_ON, _OFF = ("1", "true", "on", "yes", ""), ("0", "false", "off", "no")
_attempted = False  # keep_freed_memory ran once in this process (it never runs twice)
_thresholds_set = False  # ... and set both thresholds


def keep_freed_memory() -> bool:
    """Set glibc's mmap/trim thresholds once (see the module docstring); return whether they are set.

    Returns ``False`` without touching anything when ``SB3_SPIKING_KEEP_MEMORY=0``, off Linux, or
    when the C library has no ``mallopt`` (musl, macOS, Windows).

    :raises ValueError: when ``SB3_SPIKING_KEEP_MEMORY`` is not one of 1/0, true/false, on/off, yes/no.
    """
    global _attempted, _thresholds_set
    if _attempted:
        return _thresholds_set
    value = os.environ.get(ENV_VAR, "1").strip().lower()
    if value not in _ON + _OFF:
        raise ValueError(f"{ENV_VAR}={value!r}: allowed values are {', '.join(_ON + _OFF)}")
    _attempted = True
    if value in _OFF or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    _thresholds_set = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _thresholds_set
