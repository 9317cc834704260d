"""The sender: drains the outbox into Telegram, paced, one bad chat never stopping the others.

Runs in the bot's event loop. Rows go ``pending → sending → sent``; each message of a row is
recorded as it is sent, so a crash repeats at most the message in flight. Pacing is our own
(``[telegram] messages_per_second`` overall, ``private_per_second`` per private chat,
``group_per_minute`` per group or channel); python-telegram-bot's AIORateLimiter is only the
backstop. What Telegram says back decides the rest:

* 429 → wait ``retry_after`` (all sends pause), then the same row again;
* 403 → the chat blocked or removed the bot: it is marked blocked and its rows stop;
* ChatMigrated → the chat and its rows move to the new id, and the row is sent again;
* 400 on HTML → the same row as plain text, once; any other 400 → ``failed`` with the reason;
* a network error or timeout → retried with backoff, ``failed`` after ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.notify.settings import TelegramSettings
from bot.render.alert import plain_text
from bot.store.outbox import Delivery, Outbox
from bot.store.subscribers import Subscribers

log = logging.getLogger("tic_alert.sender")
MAX_ATTEMPTS = 5
IDLE_SECONDS = 1.0  # with no wake-up (poller in another process), look for new rows this often


def retry_seconds(err: RetryAfter) -> float:
    value = getattr(err, "_retry_after", None)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(err.retry_after)  # type: ignore[arg-type]


class Sender:
    """Sends outbox rows through ``bot``; :meth:`run` until ``stop`` is set."""

    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        subscribers: Subscribers,
        settings: TelegramSettings,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        self.bot = bot
        self.outbox = outbox
        self.subscribers = subscribers
        self.settings = settings
        self.clock = clock
        rate = 1000.0 if settings.paid_broadcast else settings.messages_per_second
        self.interval = 1.0 / rate
        self.workers = max(8, min(200, int(rate * 2)))
        self._last_any = 0.0
        self._slot = asyncio.Lock()
        self._next_chat: dict[int, float] = {}
        self._paused_until = 0.0
        self._wake = asyncio.Event()
        self._chart_locks: dict[int, asyncio.Lock] = {}
        self._plain: set[int] = set()  # rows whose HTML Telegram refused
        self.sent = 0

    def wake(self) -> None:
        """New rows were committed: look now (thread-safe through loop.call_soon_threadsafe)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                recovered = self.outbox.recover()
                break
            except sqlite3.Error as err:  # another process holds the write lock: try again
                log.warning("outbox recovery waits: %s", err)
                await asyncio.sleep(1.0)
        else:
            return
        if recovered:
            log.info("%d deliveries left 'sending' by a stop are sent again", recovered)
        inflight: dict[int, asyncio.Task] = {}
        while not stop.is_set():
            try:
                await self._round(inflight)
            except Exception:  # the database or a bug: log it, keep the sender alive
                log.exception("sender round failed; trying again in a second")
                await asyncio.sleep(1.0)
        for task in inflight.values():  # a send in flight finishes or stays 'sending' (sent again on start)
            task.cancel()

    async def _round(self, inflight: dict[int, asyncio.Task]) -> None:
        """Start the due rows (one at a time per chat), or wait for a wake-up."""
        for chat, task in list(inflight.items()):
            if task.done():
                del inflight[chat]
        room = self.workers - len(inflight)
        rows = self.outbox.due(self.clock(), limit=room * 4) if room > 0 else []
        started = 0
        for row in rows:
            if row.chat_id in inflight or started >= room:
                continue
            inflight[row.chat_id] = asyncio.create_task(self.deliver(row))
            started += 1
        if started == 0:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):  # new rows (wake), or look again anyway
                await asyncio.wait_for(self._wake.wait(), 0.2 if inflight else IDLE_SECONDS)

    # --- one row ---------------------------------------------------------------------------------

    async def deliver(self, row: Delivery) -> None:
        """Send one row; its state is written before and after each message (retried while the
        database is busy, so a bookkeeping write never turns a sent message into a lost one)."""
        now = self.clock()
        book, state = self._book, self.outbox.set_state
        if row.kind == "edit":
            target = self.outbox.get(row.edit_of) if row.edit_of else None
            if target is None or target.state in ("failed", "blocked"):
                await book(state, row.id, "failed", now, "the message to edit was never sent")
                return
            if target.state != "sent":
                await book(state, row.id, "pending", now, None, now + dt.timedelta(seconds=2))
                return
        await book(state, row.id, "sending", now)
        try:
            for i, text in enumerate(row.messages):
                if i < len(row.sent_ids):
                    continue  # sent before a stop
                await self._pace(row.chat_id)
                message_id = await self._send(row, i, text)
                self._spaced(row.chat_id)
                await book(self.outbox.sent_one, row.id, message_id, self.clock())
                self.sent += 1
            await book(state, row.id, "sent", self.clock(), "")
        except RetryAfter as err:
            wait = retry_seconds(err)
            self._paused_until = max(self._paused_until, time.monotonic() + wait)
            await self._retry(row, f"429: retry after {wait:g} s", wait)
        except Forbidden as err:
            await book(self.subscribers.set_blocked, row.chat_id, True, self.clock())
            await book(self.outbox.block_chat, row.chat_id, self.clock(), f"403: {err.message}")
            log.info("chat %s blocked the bot: its deliveries stop", row.chat_id)
        except ChatMigrated as err:
            await book(self.subscribers.migrate, row.chat_id, err.new_chat_id, self.clock())
            await book(self.outbox.move_chat, row.chat_id, err.new_chat_id)
            await self._retry(row, f"moved to {err.new_chat_id}", 0)
        except BadRequest as err:
            if "not modified" in err.message.lower():
                await book(state, row.id, "sent", self.clock(), "unchanged")
            elif row.id not in self._plain:  # bad HTML, or a chat where photos are not allowed
                self._plain.add(row.id)
                log.warning("delivery %s refused (%s): plain text, no photo, next", row.id, err.message)
                await self._retry(row, f"400: {err.message}; plain text next", 0)
            else:
                await book(state, row.id, "failed", self.clock(), f"400: {err.message}")
        except (TimedOut, NetworkError) as err:
            if row.attempts + 1 >= MAX_ATTEMPTS:
                await book(state, row.id, "failed", self.clock(), f"network: {err}")
            else:
                await self._retry(row, f"network: {err}", min(60.0, 2.0**row.attempts), attempt=True)
        except sqlite3.Error:
            log.exception("delivery %s: the database did not answer; sent again after a restart", row.id)
        except Exception as err:  # a bug must not stop the others
            log.exception("delivery %s failed", row.id)
            await book(state, row.id, "failed", self.clock(), f"{type(err).__name__}: {err}")

    async def _book(self, write: Callable[..., object], *args: object) -> None:
        """A bookkeeping write, retried while another connection holds the write lock."""
        for attempt in range(20):
            try:
                write(*args)
                return
            except sqlite3.OperationalError:
                if attempt == 19:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))

    async def _retry(self, row: Delivery, detail: str, seconds: float, attempt: bool = False) -> None:
        when = self.clock() + dt.timedelta(seconds=seconds)
        await self._book(self.outbox.set_state, row.id, "pending", self.clock(), detail, when, attempt)

    async def _pace(self, chat_id: int) -> None:
        """Wait for the chat's own next slot and any 429 pause, then for the overall slot.

        Overall slots are taken one at a time, each at least one interval after the last one
        actually taken: a stalled event loop never wakes a burst of sends whose slots passed."""
        s = self.settings
        per_chat = 60.0 / s.group_per_minute if chat_id < 0 else 1.0 / s.private_per_second
        ready = max(self._next_chat.get(chat_id, 0.0), self._paused_until)
        if ready > time.monotonic():
            await asyncio.sleep(ready - time.monotonic())
        async with self._slot:
            wait = self._last_any + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_any = time.monotonic()
        self._next_chat[chat_id] = self._last_any + per_chat

    def _spaced(self, chat_id: int) -> None:
        """The chat's next message waits a full interval from when Telegram had this one, plus 5%:
        its limit counts arrivals, and ours were paced by departure."""
        s = self.settings
        per_chat = 60.0 / s.group_per_minute if chat_id < 0 else 1.0 / s.private_per_second
        self._next_chat[chat_id] = max(self._next_chat.get(chat_id, 0.0), time.monotonic() + per_chat * 1.05)

    async def _send(self, row: Delivery, i: int, text: str) -> int:
        as_plain = row.id in self._plain
        body = plain_text(text) if as_plain else text
        mode: Any = None if as_plain else ParseMode.HTML
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if self.settings.paid_broadcast else {}
        if row.kind == "edit":
            target = self.outbox.get(row.edit_of or 0)
            message_id = target.sent_ids[i]
            if i == 0 and target.chart_id is not None:
                await self.bot.edit_message_caption(row.chat_id, message_id, caption=body, parse_mode=mode)
            else:
                await self.bot.edit_message_text(body, row.chat_id, message_id, parse_mode=mode)
            return message_id
        if i == 0 and row.chart_id is not None and not as_plain:
            return await self._send_photo(row, body, mode, extra)
        msg = await self.bot.send_message(row.chat_id, body, parse_mode=mode, **extra)
        return msg.message_id

    async def _send_photo(self, row: Delivery, caption: str, mode: Any, extra: dict[str, Any]) -> int:
        """The chart: uploaded once (others wait for its file_id), then sent by file_id."""
        chart_id = row.chart_id or 0
        png, file_id = self.outbox.chart_file(chart_id)
        if file_id is None:
            lock = self._chart_locks.setdefault(chart_id, asyncio.Lock())
            async with lock:
                png, file_id = self.outbox.chart_file(chart_id)
                if file_id is None:
                    msg = await self.bot.send_photo(
                        row.chat_id, png, caption=caption, parse_mode=mode, **extra
                    )
                    self._remember(chart_id, msg)
                    return msg.message_id
        msg = await self.bot.send_photo(row.chat_id, file_id, caption=caption, parse_mode=mode, **extra)
        return msg.message_id

    def _remember(self, chart_id: int, msg: Message) -> None:
        if msg.photo:
            self.outbox.set_file_id(chart_id, msg.photo[-1].file_id)
