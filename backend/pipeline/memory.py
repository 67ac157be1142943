"""Allocator settings that keep an import's memory flat: freed chunk buffers go back to the OS.

Every chunk allocates and frees many arrays of a few hundred KB (pyarrow buffers, numpy arrays of
pandas columns). glibc raises its mmap threshold after each such free, so later ones come from the
heap, which it rarely gives back; pyarrow's default pool (mimalloc) also keeps freed pages per thread.
Together they held 100 to 150 MB more than the live data of a run (docs/benchmarks.md). With a fixed
threshold those arrays are mmapped and unmapped as they come and go, pyarrow allocates through the
same malloc, threads share two arenas, and a trim after each chunk returns what the heaps hold free.

The CSV reader is the exception (`reader_pool`): its parse buffers live for one block each, so with the
fixed threshold every block mmapped and zero-filled them anew (about half of a pipeline run's system time).
mimalloc hands the same pages to the next block instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
import threading
from typing import Any

M_MMAP_THRESHOLD = -3  # mallopt parameters (glibc malloc.h); setting it also fixes the trim threshold
M_ARENA_MAX = -8
# The read-ahead, upload and results threads each got an arena of their own, each keeping freed pages.
ARENAS = 2
MMAP_THRESHOLD = 256 * 1024  # 64 KiB saved 4 MB more but cost 10 % of the pipeline's speed

_done = False
_lock = threading.Lock()
_libc: ctypes.CDLL | None = None


def lean_allocators() -> None:
    """Apply the settings once per process (the worker's and the CLI's); later calls do nothing."""
    global _done, _libc
    with _lock:
        if _done:
            return
        _done = True
        name = ctypes.util.find_library("c")
        libc = ctypes.CDLL(name) if name else None
        if libc is not None and hasattr(libc, "mallopt"):  # glibc only; other libcs keep their defaults
            libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            libc.mallopt(M_ARENA_MAX, ARENAS)
            _libc = libc
        # The export's byte path may never load pyarrow: then the variable picks the pool when it loads.
        os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
        if "pyarrow" in sys.modules:
            pa = sys.modules["pyarrow"]
            pa.set_memory_pool(pa.system_memory_pool())


def reader_pool() -> Any:
    """The pool for pyarrow's CSV reader: mimalloc, which reuses a block's freed buffers for the next block
    (1,000,000 rows: 19 % faster, peak RSS within a few MB; docs/benchmarks.md); None (the default pool)
    where pyarrow was built without it."""
    import pyarrow as pa  # here, not above: the export's byte path imports this module without pyarrow

    try:
        return pa.mimalloc_memory_pool()
    except NotImplementedError:
        return None


def give_back() -> None:
    """Return free pages inside malloc's heaps to the OS; the runner calls it after each chunk (~1 ms)."""
    if _libc is not None:
        _libc.malloc_trim(0)

