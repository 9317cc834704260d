"""The C heap of a long-running process (glibc): fewer malloc arenas, and freed memory given back.

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
M_ARENA_MAX = -8  # mallopt parameter (malloc.h)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None


def limit_arenas(arenas: int = 2) -> bool:
    """At most ``arenas`` malloc arenas from now on (call before starting threads)."""
    libc = _libc()
    return bool(libc and libc.mallopt(M_ARENA_MAX, arenas))


def give_back() -> bool:
    """Return the heap's free pages to the system (True when glibc did so)."""
    libc = _libc()
    return bool(libc and libc.malloc_trim(0))
