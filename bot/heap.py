"""The C heap of a long-running process (glibc): fewer arenas, big blocks mapped on their own,
and freed memory given back.

Building a panel allocates ~70 MB for a moment in whichever thread builds it (the poller's, a
worker's). glibc keeps a heap ("arena") per thread and rarely returns a freed peak to the system,
so each thread's peak stays in RSS. :func:`limit_arenas` (at start-up, before threads) caps the
arenas; :func:`give_back` (after a hand-over) returns the free pages. Elsewhere both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("tic_alert.heap")
M_ARENA_MAX = -8  # mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 1024


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def limit_arenas(arenas: int = 1) -> bool:
    """At most ``arenas`` malloc arenas from now on (call before starting threads; one: the GIL
    serialises most allocations anyway, and a second arena kept ~35 MB more in the latency drill),
    and every block of 256 KB or more (numpy's arrays, pandas' columns) mapped on its own, so
    freeing it returns it to the system at once (glibc otherwise raises that threshold as blocks
    are freed, and the next arrays land in the heap, where they stay)."""
    libc = _libc()
    return bool(libc and libc.mallopt(M_ARENA_MAX, arenas) and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def give_back() -> bool:
    """Return the heap's free pages to the system (True when glibc did so)."""
    libc = _libc()
    return bool(libc and libc.malloc_trim(0))
