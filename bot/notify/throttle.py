"""Per-chat flood control: a chat that floods commands is slowed down, not served at others' cost."""

from __future__ import annotations

from collections import deque


class ChatThrottle:
    """At most ``per_minute`` commands a chat in any 60 s; the first refusal in a burst is told."""

    def __init__(self, per_minute: int, window: float = 60.0):
        self.per_minute = per_minute
        self.window = window
        self._seen: dict[int, deque[float]] = {}
        self._told: dict[int, float] = {}

    def check(self, chat_id: int, now: float) -> tuple[bool, float]:
        """(allowed, seconds until the next command is allowed) for a command at ``now``."""
        seen = self._seen.setdefault(chat_id, deque())
        while seen and now - seen[0] >= self.window:
            seen.popleft()
        if len(seen) < self.per_minute:
            seen.append(now)
            self._told.pop(chat_id, None)
            return True, 0.0
        return False, self.window - (now - seen[0])

    def tell(self, chat_id: int, now: float) -> bool:
        """Whether to answer this refusal (once per burst), so a flood does not make a reply flood."""
        if chat_id in self._told and now - self._told[chat_id] < self.window:
            return False
        self._told[chat_id] = now
        return True

    def forget_idle(self, now: float) -> None:
        """Drop chats with nothing in the window (keeps memory flat with many chats)."""
        for chat_id in [c for c, s in self._seen.items() if not s or now - s[-1] >= self.window]:
            self._seen.pop(chat_id, None)
