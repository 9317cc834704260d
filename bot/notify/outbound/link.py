"""Is the Bot API answering? The sender's view of its link to Telegram.

Any answer from Telegram (a message sent, or an error Telegram itself gave) means the link is
up. A network error, a timeout or a 5xx is a failure; after ``trip_after`` failures in a row
(a single failure among successes is one chat's bad luck, retried on its own) the link is
**down**: the sender starts no delivery, and one cheap probe (``getMe``) goes after
``first_probe`` seconds, then at doubling intervals up to ``max_probe`` (a second: the rows wait
on it, and a ``getMe`` a second costs Telegram nothing). The first answer brings the link up and
every delivery resumes at once. The clock is passed in.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Link:
    """Up or down, and when to probe."""

    def __init__(
        self,
        *,
        trip_after: int = 3,
        first_probe: float = 0.5,
        max_probe: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.trip_after = trip_after
        self.first_probe = first_probe
        self.max_probe = max_probe
        self.clock = clock
        self.streak = 0  # failures since the last answer
        self.down_since: float | None = None
        self.probing = False
        self._delay = first_probe
        self._next_probe = 0.0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def answered(self) -> bool:
        """Telegram answered a call; True when that ends an outage."""
        was_down = self.down
        self.streak = 0
        self.down_since = None
        self.probing = False
        self._delay = self.first_probe
        return was_down

    def failed(self) -> None:
        """A call got no answer from Telegram (network, timeout, 5xx)."""
        self.streak += 1
        if not self.down and self.streak >= self.trip_after:
            self.down_since = self.clock()
            self._next_probe = self.down_since + self._delay

    def probe_due(self) -> bool:
        return self.down and not self.probing and self.clock() >= self._next_probe

    def probe_started(self) -> None:
        self.probing = True

    def probe_failed(self) -> None:
        """The probe got no answer: the next one waits twice as long (up to ``max_probe``)."""
        self.probing = False
        self._delay = min(self.max_probe, self._delay * 2)
        self._next_probe = self.clock() + self._delay
