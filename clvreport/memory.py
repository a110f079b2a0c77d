"""Give memory the process no longer uses back to the operating system.

Two allocators keep freed memory for later use:

* **Arrow's pool** (mimalloc or jemalloc) keeps what query results and tables
  used; :meth:`pyarrow.MemoryPool.release_unused` returns it.
* **The C library's** ``malloc`` (glibc on Linux) keeps freed blocks below
  its mmap threshold in its arenas, and that threshold grows with every large
  block freed (up to 32 MB). The scoring's per-chunk arrays (200 draws × 20,000
  customers × 8 bytes) are of that size, so after scoring millions of customers
  the arenas held gigabytes that no array used: 0.4 GB after a 10M-transaction
  analysis. ``malloc_trim(0)`` returns them.

:func:`release_free_memory` does both; the report calls it between its heavy
steps (after the queries, after scoring, before the data files), so the next
step's peak does not stand on the previous step's leftovers.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys
from collections.abc import Callable

__all__ = ["release_free_memory"]


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """The C library's ``malloc_trim`` on Linux with glibc (``None`` elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # pragma: no cover - not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> None:
    """Return the memory Arrow's pool and ``malloc`` keep after freeing it.

    Cheap (a walk over the allocators' free lists); values held by Python,
    NumPy or Arrow stay where they are. Does nothing more where the C library
    has no ``malloc_trim``.

    Examples
    --------
    >>> release_free_memory()
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
