"""Waiting for what a service needs, with backoff, saying so in one line per kind of failure.

Telegram unreachable at start-up, the Treasury unreachable while the bot has no release to
answer from, getUpdates failing during an outage: each is retried, never fatal. Only a token
the Bot API refuses ends the process (one line, without the token).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from telegram import Bot
from telegram.error import InvalidToken, TelegramError, TimedOut

from bot.errors import FetchError, StoreUnavailable, TicAlertError, brief
from bot.notify.outbound.transport import AiohttpRequest
from bot.notify.outbound.verdicts import classify, message_of
from bot.notify.settings import TelegramSettings

log = logging.getLogger("tic_alert.bot")
T = TypeVar("T")
REFUSED_TOKEN = "the Bot API refused the token in TIC_ALERT_BOT_TOKEN (revoked or mistyped?)"


class Attempts:
    """Backoff (``first``, doubling, at most ``cap`` seconds) and its log: the first failure of a
    kind is one WARNING line saying what failed and what happens next (``then``); repeats of that
    kind are quiet (DEBUG) for ``quiet`` seconds; a success after failures is one INFO line."""

    def __init__(
        self,
        what: str,
        first: float = 1.0,
        cap: float = 60.0,
        quiet: float = 600.0,
        then: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.what = what
        self.first, self.cap, self.quiet = first, cap, quiet
        self.then = then or f"trying again with backoff ({first:g} s, doubling to {cap:g} s)"
        self.clock = clock
        self.failures = 0
        self._told: dict[str, float] = {}  # kind → when it was last logged
        self._since: float | None = None

    def failed(self, kind: str) -> float:
        """Note a failure of this kind; the seconds to wait before the next try."""
        now = self.clock()
        delay = min(self.cap, self.first * 2 ** min(self.failures, 30))
        self.failures += 1
        if self._since is None:
            self._since = now
        if now - self._told.get(kind, float("-inf")) >= self.quiet:
            self._told[kind] = now
            log.warning("%s: %s; %s", self.what, kind, self.then)
        else:
            log.debug("%s: %s (attempt %d; next in %.0f s)", self.what, kind, self.failures, delay)
        return delay

    def succeeded(self) -> None:
        if self.failures:
            took = self.clock() - (self._since or self.clock())
            log.info("%s: fine again after %d failed attempt(s), %.0f s", self.what, self.failures, took)
        self.failures = 0
        self._since = None
        self._told.clear()


def refused_writes(what: str = "deliveries wait: the database refuses writes") -> Attempts:
    """The Attempts of every write the database may refuse (busy, full, read-only): 0.1 s, doubling
    to 5 s; said once per kind, and once when it takes writes again."""
    return Attempts(what, first=0.1, cap=5.0, then="retrying; nothing is lost or sent twice")


async def written(write: Callable[[], T], attempts: Attempts) -> T:
    """``write()``, tried again with ``attempts``' backoff while the database refuses it
    (:class:`StoreUnavailable`); any other error is raised."""
    while True:
        try:
            done = write()
        except StoreUnavailable as err:
            await asyncio.sleep(attempts.failed(kind_of(err)))
            continue
        attempts.succeeded()
        return done


def kind_of(err: BaseException) -> str:
    """A failure's kind for the log: its type and message in a few whole words (a Telegram error
    never with a URL: the token is in them; a fetch's with the file's and why, not the library's
    nested repr)."""
    if isinstance(err, FetchError):
        return f"{type(err).__name__}: {str(err).split(': ', 1)[0]}: {err.reason}"
    message = message_of(err) if isinstance(err, TelegramError) else str(err)
    name = "TimedOut" if isinstance(err, TimedOut) else type(err).__name__  # UnknownOutcome too
    return f"{name}: {brief(message)}"


async def until_telegram_answers(
    token: str, settings: TelegramSettings, attempted: Callable[[], None] = lambda: None
) -> None:
    """Ask the Bot API who we are until it answers (``attempted`` after each try: the process is
    alive, only waiting); a refused token is a TicAlertError."""
    attempts = Attempts("Telegram unreachable at start-up")
    timeout = settings.request_timeout_seconds
    while True:
        attempted()
        request = AiohttpRequest(connections=1, timeout=timeout)
        bot = Bot(token, base_url=settings.api_url, request=request)
        try:
            async with bot:  # getMe, then shut down
                pass
        except InvalidToken:
            raise TicAlertError(REFUSED_TOKEN) from None  # PTB's message quotes the token
        except TelegramError as err:
            delay = max(attempts.failed(kind_of(err)), classify(err).seconds)  # a 429's wait
        else:
            attempts.succeeded()
            return
        await asyncio.sleep(delay)
