"""What makes the fake Bot API say no: Telegram's flood limits, scheduled outages, injected faults.

``FloodLimits``  Telegram's limits on messages (sliding windows): 30/s overall, or 1,000/s for
                 messages that carry ``allow_paid_broadcast`` (paid broadcasts), 1/s per chat
                 and 20/min per group, supergroup or channel (a negative id), paid or not;
                 beyond them 429 "Too Many Requests: retry after N" with
                 ``parameters.retry_after``.
``Outage``       the whole API down on a schedule: first 502 Bad Gateway (Telegram's JSON
                 envelope, or nginx's HTML page, which PTB fails to parse and logs), then
                 requests held without an answer until the outage ends (past any client
                 timeout); a held request may still be carried out (``deliver_held``).
``Faults``       the next N calls of a method get a given error (``fail_next``), or random 5xx,
                 held answers and 429s at given rates, from a seeded random.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from telegram_entities import ApiError

ERROR_PHRASES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
NGINX_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.18.0</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


def too_many(after: float) -> ApiError:
    seconds = max(1, math.ceil(after))
    return ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


class FloodLimits:
    """Sliding windows of the sends Telegram accepted; ``None`` for a limit lifts it.

    Every message counts towards ``paid_per_s`` (the messages of the last second, paid or not:
    paid broadcasting lifts the ceiling, it does not add a second one beside it); a free one also
    towards ``overall_per_s`` (the free messages of the last second).
    """

    def __init__(
        self,
        overall_per_s: float | None = 30,
        per_chat_per_s: float | None = 1,
        per_group_per_min: float | None = 20,
        paid_per_s: float | None = 1000,
    ):
        self.overall, self.chat, self.group = overall_per_s, per_chat_per_s, per_group_per_min
        self.paid = paid_per_s
        self._free: deque[float] = deque()  # free messages of the last second
        self._all: deque[float] = deque()  # every message of the last second
        self._chat: dict[int, deque[float]] = {}
        self._swept = 0.0

    def take(self, chat_id: int, now: float, paid: bool = False) -> float:
        """Take a slot for a message to ``chat_id`` at ``now`` (returned), or raise 429."""
        for recent in (self._free, self._all):
            while recent and now - recent[0] >= 1.0:
                recent.popleft()
        self._sweep(now)
        window = self._chat.setdefault(chat_id, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        waits: list[float] = []
        for limit, recent in ((self.paid, self._all), (None if paid else self.overall, self._free)):
            if limit and len(recent) >= limit:
                waits.append(1.0 - (now - recent[-int(limit)]))
        last_second = [t for t in window if now - t < 1.0]
        if self.chat and len(last_second) >= self.chat:
            waits.append(1.0 - (now - last_second[-int(self.chat)]))
        if self.group and chat_id < 0 and len(window) >= self.group:
            waits.append(60.0 - (now - window[-int(self.group)]))
        if waits:
            raise too_many(max(waits))
        if not paid:
            self._free.append(now)
        self._all.append(now)
        window.append(now)
        return now

    def give_back(self, chat_id: int, slot: float) -> None:
        """A message Telegram refused takes no slot."""
        for window in (self._free, self._all, self._chat.get(chat_id, deque())):
            if slot in window:
                window.remove(slot)

    def _sweep(self, now: float) -> None:
        """Once a minute, chats with nothing in their window go (a 100,000-chat broadcast)."""
        if now - self._swept < 60.0:
            return
        self._swept = now
        self._chat = {c: w for c, w in self._chat.items() if w and now - w[-1] < 60.0}


@dataclass
class Outage:
    """502 from ``start`` to ``timeouts``, then no answer until ``end`` (time.monotonic())."""

    start: float
    timeouts: float
    end: float
    html: bool = False  # the 502s as nginx's HTML page instead of Telegram's JSON envelope
    deliver_held: float = 0.0  # share of held requests carried out when the outage ends

    def phase(self, now: float) -> str | None:
        if self.start <= now < self.timeouts:
            return "502"
        if self.timeouts <= now < self.end:
            return "timeout"
        return None


@dataclass
class _Failure:
    method: str
    code: int | str
    description: str
    parameters: dict[str, Any] | None
    count: int
    chat_id: int | None


class Faults:
    """Queued and random errors. ``pick`` answers for one call: raises the error, or returns
    "hold" when the answer should be held (a timeout), or None."""

    def __init__(self, seed: int = 0):
        self.random = random.Random(seed)
        self.rate: dict[str, float] = {"5xx": 0.0, "timeout": 0.0, "429": 0.0}
        self.random_retry_after = 1
        self.outages: list[Outage] = []
        self._queued: list[_Failure] = []

    def fail_next(
        self,
        method: str,
        error_code: int | str = 400,
        description: str | None = None,
        parameters: dict[str, Any] | None = None,
        count: int = 1,
        chat_id: int | None = None,
    ) -> None:
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {(parameters or {}).get('retry_after', 1)}"
                parameters = parameters or {"retry_after": 1}
            else:
                description = ERROR_PHRASES.get(error_code, "Error")  # type: ignore[call-overload]
        self._queued.append(_Failure(method, error_code, description, parameters, count, chat_id))

    def outage(
        self, start_in: float, seconds_502: float, seconds_timeout: float, html: bool, deliver_held: float
    ) -> Outage:
        start = time.monotonic() + start_in
        out = Outage(start, start + seconds_502, start + seconds_502 + seconds_timeout, html, deliver_held)
        self.outages.append(out)
        return out

    def current_outage(self, now: float) -> tuple[Outage, str] | None:
        for out in self.outages:
            phase = out.phase(now)
            if phase:
                return out, phase
        return None

    def pick(self, method: str, chat_id: Any, random_methods: set[str]) -> str | None:
        for failure in self._queued:
            if failure.method == method and (failure.chat_id is None or failure.chat_id == chat_id):
                failure.count -= 1
                if failure.count <= 0:
                    self._queued.remove(failure)
                if failure.code == "timeout":
                    return "hold"
                raise ApiError(int(failure.code), failure.description, failure.parameters)
        if method in random_methods:
            for kind in ("5xx", "timeout", "429"):
                rate = self.rate.get(kind, 0.0)
                if rate and self.random.random() < rate:
                    if kind == "5xx":
                        raise ApiError(502, "Bad Gateway")
                    if kind == "429":
                        raise too_many(self.random_retry_after)
                    return "hold"
        return None
