"""One log line per command (chat, command, ms, outcome) and its latency in the metrics.

:func:`timed` is the outermost check around a command's callback (see :mod:`bot.notify.people.checks`):
it starts the clock when the update arrives, before the throttle and the rights checks, and stops
it when the asker has the answer: when the reply queue has sent the last reply the command queued
(each reply queued while the command runs takes a :func:`reply_done` callback), or when the
callback returns having queued none. The outcome is "refused" (a check answered instead:
throttled, too long, not allowed) unless the handler ran: then "ok" (its answer may be a usage
hint) or "failed"; "dropped" when a reply of a command that ran was never sent (the chat blocked
the bot, Telegram refused it for good, the bot stopped first; the reply queue logs why).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps

from telegram import Update
from telegram.ext import ContextTypes

from bot.telemetry import Telemetry

log = logging.getLogger("tic_alert.bot")
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
Done = Callable[[str | None], None]  # a reply is sent (None) or dropped (why)


@dataclass
class _Timing:
    """One command on its way: the callback, then each reply it queued, until all are done."""

    name: str
    chat: int | None
    telemetry: Telemetry | None
    started: float
    outcome: str = "refused"
    dropped: bool = False
    waiting: int = 1  # the callback itself, then one per queued reply

    def queued(self) -> Done:
        self.waiting += 1
        return self.done

    def done(self, dropped: str | None = None) -> None:
        self.dropped = self.dropped or dropped is not None
        self.waiting -= 1
        if self.waiting == 0:
            self._record(time.monotonic() - self.started)

    def _record(self, seconds: float) -> None:
        outcome = "dropped" if self.dropped and self.outcome == "ok" else self.outcome
        if self.telemetry is not None:
            self.telemetry.command_seconds.labels(self.name).observe(seconds)
        log.info(
            "command /%s chat=%s outcome=%s ms=%.0f",
            self.name,
            self.chat,
            outcome,
            seconds * 1000,
            extra={"chat": self.chat, "command": self.name, "outcome": outcome, "ms": round(seconds * 1000)},
        )


_CURRENT: ContextVar[_Timing | None] = ContextVar("command_timing", default=None)


def answered(outcome: str = "ok") -> None:
    """The handler ran (called by the front end's answerer): the command's outcome."""
    timing = _CURRENT.get()
    if timing is not None:
        timing.outcome = outcome


def reply_done() -> Done | None:
    """For a reply queued now: the callback the reply queue calls once it is sent or dropped
    (None outside a timed command)."""
    timing = _CURRENT.get()
    return timing.queued() if timing is not None else None


def timed(name: str, telemetry: Telemetry | None) -> Callable[[Callback], Callback]:
    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            chat = update.effective_chat.id if update.effective_chat else None
            timing = _Timing(name, chat, telemetry, time.monotonic())
            token = _CURRENT.set(timing)
            try:
                await callback(update, context)
            except BaseException:
                timing.outcome = "failed"
                raise
            finally:
                _CURRENT.reset(token)
                timing.done()

        return run

    return decorate
