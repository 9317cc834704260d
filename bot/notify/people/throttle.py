"""Flood control: a chat that floods commands is slowed down, not served at others' cost."""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable


class Throttle:
    """At most ``per_minute`` commands a key (a chat) in any ``window`` seconds; the first
    refusal in a burst is told. Keys idle for a whole window are forgotten (swept once a window),
    so memory follows the chats active in the last minute, not every chat ever seen."""

    def __init__(self, per_minute: int, window: float = 60.0):
        self.per_minute = per_minute
        self.window = window
        self._seen: dict[Hashable, deque[float]] = {}
        self._told: dict[Hashable, float] = {}
        self._swept = float("-inf")

    def __len__(self) -> int:
        """How many keys are remembered."""
        return len(self._seen.keys() | self._told.keys())

    def check(self, key: Hashable, now: float) -> tuple[bool, float]:
        """(allowed, seconds until the next command is allowed) for a command at ``now``."""
        self._sweep(now)
        seen = self._seen.setdefault(key, deque())
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        if len(seen) < self.per_minute:
            seen.append(now)
            self._told.pop(key, None)
            return True, 0.0
        return False, self.window - (now - seen[0])

    def tell(self, key: Hashable, now: float) -> bool:
        """Whether to answer this refusal (once per burst), so a flood does not make a reply flood."""
        if key in self._told and now - self._told[key] < self.window:
            return False
        self._told[key] = now
        return True

    def _sweep(self, now: float) -> None:
        if now - self._swept < self.window:
            return
        self._swept = now
        for key in [k for k, s in self._seen.items() if not s or now - s[-1] >= self.window]:
            del self._seen[key]
        for key in [k for k, t in self._told.items() if now - t >= self.window]:
            del self._told[key]
