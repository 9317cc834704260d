"""Waiting for a condition instead of sleeping a fixed time.

A fixed sleep is either too short on a loaded machine (the race fails CI) or too long everywhere
else; these poll the condition and return as soon as it holds (its value), or fail with ``what``
at the deadline. Use them for what a test waits *for*; a test that shows that nothing happens
runs on a fake clock instead (or, once, end to end among the ``slow`` tests).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
EVERY = 0.01  # seconds between two looks: short against what is waited for, long against a look


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, what: str = "the condition", every: float = EVERY
) -> T:
    """``predicate()`` once it is truthy (from a thread that is not the one making it so)."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(every)
    return value


async def await_until(predicate: Callable[[], T], timeout: float = 10.0, what: str = "the condition") -> T:
    """``predicate()`` once it is truthy, looking between the event loop's other work."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        await asyncio.sleep(EVERY)
    return value
