"""One log line per command (chat, command, ms, outcome) and its latency in the metrics.

:func:`timed` is the outermost check around a command's callback (see :mod:`bot.notify.checks`):
it starts the clock before the throttle and the rights checks and stops it when the last reply
is sent. The outcome is "refused" (a check answered instead: throttled, too long, not allowed)
unless the handler ran: then "ok" (its answer may be a usage hint) or "failed".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from functools import wraps

from telegram import Update
from telegram.ext import ContextTypes

from bot.telemetry import Telemetry

log = logging.getLogger("tic_alert.bot")
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]
_OUTCOME: ContextVar[list[str] | None] = ContextVar("command_outcome", default=None)


def answered(outcome: str = "ok") -> None:
    """The handler ran (called by the front end's answerer): the command's outcome."""
    box = _OUTCOME.get()
    if box is not None:
        box[0] = outcome


def timed(name: str, telemetry: Telemetry | None) -> Callable[[Callback], Callback]:
    def decorate(callback: Callback) -> Callback:
        @wraps(callback)
        async def run(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            box = ["refused"]
            token = _OUTCOME.set(box)
            started = time.monotonic()
            try:
                await callback(update, context)
            except BaseException:
                box[0] = "failed"
                raise
            finally:
                _OUTCOME.reset(token)
                seconds = time.monotonic() - started
                if telemetry is not None:
                    telemetry.command_seconds.labels(name).observe(seconds)
                chat = update.effective_chat.id if update.effective_chat else None
                log.info(
                    "command /%s in chat %s: %s, %.0f ms",
                    name,
                    chat,
                    box[0],
                    seconds * 1000,
                    extra={"chat": chat, "command": name, "outcome": box[0], "ms": round(seconds * 1000)},
                )

        return run

    return decorate
