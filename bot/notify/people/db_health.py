"""When the database cannot be written (disk full, read-only, locked): say so once, and recover.

Commands that only read keep working; a command that writes answers :data:`NOT_SAVED` with the
reason; the operators hear of it once per episode (straight to their chats: the outbox is in the
same database) and once when writes work again. Nothing needs a restart: SQLite writes again as
soon as there is room, PostgreSQL once its server takes writes again. The reason in words comes
from the store (:class:`~bot.errors.StoreUnavailable`), the same on both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.errors import StoreError, StoreUnavailable

log = logging.getLogger("tic_alert.bot")
REMIND_SECONDS = 600.0  # failures that come and go alert the operators at most this often
# a full disk still takes writes that need no new page: writes work again only when none failed
# for this long
SETTLE_SECONDS = 60.0


def reason(err: StoreError) -> str:
    return err.reason if isinstance(err, StoreUnavailable) else f"a database error ({err})"


def not_saved(err: StoreError) -> str:
    """The reply to a command whose change could not be written."""
    return (
        f"Not saved: the bot cannot write its database right now ({reason(err)}), so nothing was "
        "changed. The operators are told; please try again later."
    )


class DbHealth:
    """Whether writes work; ``alert`` gets one line for the operators at each change."""

    def __init__(self, alert: Callable[[str], None], clock: Callable[[], float] = time.monotonic):
        self.alert = alert
        self.clock = clock
        self.failing: str | None = None  # the reason, while writes fail
        self._told = False  # the operators heard of this episode
        self._alerted = float("-inf")
        self._last_failure = float("-inf")

    def failed(self, err: StoreError, doing: str) -> None:
        log.warning("database write failed (%s): %s", doing, err)
        self._last_failure = self.clock()
        if self.failing is not None:
            return
        self.failing = reason(err)
        self._told = self.clock() - self._alerted >= REMIND_SECONDS
        if self._told:
            self._alerted = self.clock()
            self.alert(f"the database cannot be written ({self.failing}): commands that change settings fail")

    def ok(self) -> None:
        """A write worked: after a failure, writes work again once none failed for a while."""
        if self.failing is None or self.clock() - self._last_failure < SETTLE_SECONDS:
            return
        log.info("database writes work again (after: %s)", self.failing)
        if self._told:
            self.alert(f"the database can be written again (it failed: {self.failing})")
        self.failing = None
