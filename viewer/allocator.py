"""Let the long-running viewers give freed memory back to the system (glibc's malloc).

glibc serves a large block with its own mmap only above a threshold, and raises that threshold
to the size of every such block freed (up to 32 MiB). After the first meshes, textures and
frames are freed, blocks of that size come from the heap instead, and a heap keeps what it
frees for later: a kiosk soak that read meshes in and let them go ended ten minutes later
~700 MB larger than with the thresholds fixed (benchmarks/bench_kiosk.py; docs/PERFORMANCE.md).
Setting the thresholds once turns that raise off: large blocks are mapped and unmapped again,
and the heap's free top is given back above a MiB. The price: a fresh mapping is page faults on
first touch, so the longest event-loop gap while a kiosk site loads is ~20 ms longer than with
glibc's default (median of 3: 123 vs 102 ms). Mapping only from 4 MiB cost nothing there (91 ms)
but let the heap grow again: +117 MB over a 30-minute soak against +20 MB from 256 KiB.

Only on glibc; elsewhere (musl, macOS, Windows) nothing happens. ``STADTZEIT_MALLOC=default``
leaves the allocator as it is (for measuring the difference).
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1     # glibc's mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024      # bytes: blocks from this size get their own mapping
TRIM_THRESHOLD = 1024 * 1024     # bytes of free heap top kept before it is given back


def return_freed_memory() -> bool:
    """Fix glibc's mmap and trim thresholds for this process; True if they were set."""
    if os.environ.get("STADTZEIT_MALLOC", "") == "default" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False              # not glibc
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    log.info("malloc: mmap threshold %d KiB, trim threshold %d KiB%s", MMAP_THRESHOLD // 1024,
             TRIM_THRESHOLD // 1024, "" if ok else " (refused)")
    return ok


__all__ = ["return_freed_memory"]
