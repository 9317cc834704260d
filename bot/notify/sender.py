"""The sender: drains the outbox into Telegram, paced, one bad chat never stopping the others.

Runs in the bot's event loop. Rows go ``pending → sending → sent``; each message of a row is
recorded as it is sent, so a crash repeats at most the message in flight. A chat's rows go one at
a time, in order. The pace is a :class:`~bot.notify.pacer.Pacer` (python-telegram-bot's
AIORateLimiter is only the backstop); what Telegram says back is classified once
(:func:`~bot.notify.telegram_errors.classify`) and decides the rest:

* wait (429) → every send pauses for as long as Telegram asked, then the same row again;
* blocked (403) → the chat is marked blocked and its rows stop;
* migrated → the chat and its rows move to the new id, and the row is sent again;
* unchanged (an edit that changes nothing) → done;
* plain (HTML or a photo refused) → the same row once more as plain text; refused → ``failed``;
* retry (a network error, a timeout, a 5xx) → again with backoff, ``failed`` after ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.notify.delivery_watch import DeliveryWatch
from bot.notify.pacer import Pacer, pacer_for
from bot.notify.settings import TelegramSettings
from bot.notify.telegram_errors import Action, Verdict, classify
from bot.render.alert import plain_text
from bot.store.outbox import Delivery, DeliveryKind, DeliveryState, Outbox
from bot.store.subscribers import Subscribers

log = logging.getLogger("tic_alert.sender")
MAX_ATTEMPTS = 5
IDLE_SECONDS = 1.0  # with no wake-up (poller in another process), look for new rows this often
PENDING, SENDING, SENT, FAILED = (
    DeliveryState.PENDING,
    DeliveryState.SENDING,
    DeliveryState.SENT,
    DeliveryState.FAILED,
)


class Sender:
    """Sends outbox rows through ``bot``; :meth:`run` until ``stop`` is set."""

    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        subscribers: Subscribers,
        settings: TelegramSettings,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        pacer: Pacer | None = None,
        watch: DeliveryWatch | None = None,
    ):
        self.watch = watch or DeliveryWatch()  # a log line per delivery; the metrics
        self.bot = bot
        self.outbox = outbox
        self.subscribers = subscribers
        self.settings = settings
        self.clock = clock
        self.pacer = pacer or pacer_for(settings)
        self.paid = True if settings.paid_broadcast else None  # None: the parameter is left out
        self.workers = max(8, min(200, round(2 / self.pacer.interval)))  # two per overall slot a second
        self._wake = asyncio.Event()
        self._chart_locks: dict[int, asyncio.Lock] = {}
        self._plain: set[int] = set()  # rows whose HTML or photo Telegram refused
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
        rows = self.outbox.due(now=self.clock(), limit=room * 4) if room > 0 else []
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
        if row.kind == DeliveryKind.EDIT and not await self._edit_ready(row):
            return
        await self._set(row, SENDING)
        api = 0.0  # seconds waiting for the Bot API (not for our own pace)
        try:
            for i, text in enumerate(row.messages):
                if i < len(row.sent_ids):
                    continue  # sent before a stop
                await self.pacer.wait(row.chat_id)
                started = time.monotonic()
                message_id = await self._send(row, i, text)
                api += time.monotonic() - started
                self.pacer.sent(row.chat_id)
                sent = partial(self.outbox.sent_one, row.id, message_id=message_id, now=self.clock())
                await self._book(sent)
                self.sent += 1
            await self._set(row, SENT, detail="")
            self.watch.finished(row, SENT, api)
        except TelegramError as err:
            await self._answered(row, classify(err))
        except sqlite3.Error:
            log.exception("delivery %s: the database did not answer; sent again after a restart", row.id)
        except Exception as err:  # a bug must not stop the others
            log.exception("delivery %s failed", row.id)
            await self._set(row, FAILED, detail=f"{type(err).__name__}: {err}")
            self.watch.finished(row, FAILED)

    async def _edit_ready(self, row: Delivery) -> bool:
        """An edit goes once the message it edits was sent; it fails if that never will be."""
        target = self.outbox.get(row.edit_of) if row.edit_of else None
        if target is None or target.state in (FAILED, DeliveryState.BLOCKED):
            await self._set(row, FAILED, detail="the message to edit was never sent")
            return False
        if target.state != SENT:
            await self._set(row, PENDING, not_before=self.clock() + dt.timedelta(seconds=2))
            return False
        return True

    async def _answered(self, row: Delivery, verdict: Verdict) -> None:
        """What Telegram refused, handled as :mod:`bot.notify.telegram_errors` classified it."""
        now = self.clock()
        match verdict.action:
            case Action.WAIT:
                self.pacer.pause(verdict.seconds)
                await self._retry(row, verdict.detail, verdict.seconds)
                self.watch.retried(row, verdict.detail)
            case Action.BLOCKED:
                await self._book(lambda: self.subscribers.set_blocked(row.chat_id, True, now))
                await self._book(lambda: self.outbox.block_chat(row.chat_id, now=now, detail=verdict.detail))
                log.info("chat %s blocked the bot: its deliveries stop", row.chat_id)
                self.watch.finished(row, DeliveryState.BLOCKED)
            case Action.MIGRATED if verdict.chat_id is not None:
                new = verdict.chat_id
                await self._book(lambda: self.subscribers.migrate(row.chat_id, new, now))
                await self._book(lambda: self.outbox.move_chat(row.chat_id, to=new))
                await self._retry(row, verdict.detail, 0)
                self.watch.retried(row, verdict.detail)
            case Action.UNCHANGED:
                await self._set(row, SENT, detail="unchanged")
                self.watch.finished(row, SENT)
            case Action.PLAIN if row.id not in self._plain:
                self._plain.add(row.id)
                log.warning("delivery %s refused (%s): plain text, no photo, next", row.id, verdict.detail)
                await self._retry(row, f"{verdict.detail}; plain text next", 0)
                self.watch.retried(row, verdict.detail)
            case Action.RETRY if row.attempts + 1 < MAX_ATTEMPTS:
                await self._retry(row, verdict.detail, min(60.0, 2.0**row.attempts), attempt=True)
                self.watch.retried(row, verdict.detail)
            case _:
                await self._set(row, FAILED, detail=verdict.detail)
                self.watch.finished(row, FAILED)

    async def _set(
        self,
        row: Delivery,
        state: DeliveryState,
        *,
        detail: str | None = None,
        not_before: dt.datetime | None = None,
        attempt: bool = False,
    ) -> None:
        now = self.clock()
        await self._book(
            lambda: self.outbox.set_state(
                row.id, state, now=now, detail=detail, not_before=not_before, attempt=attempt
            )
        )

    async def _retry(self, row: Delivery, detail: str, seconds: float, attempt: bool = False) -> None:
        later = self.clock() + dt.timedelta(seconds=seconds)
        await self._set(row, PENDING, detail=detail, not_before=later, attempt=attempt)

    async def _book(self, write: Callable[[], object]) -> None:
        """A bookkeeping write, retried while another connection holds the write lock."""
        for attempt in range(20):
            try:
                write()
                return
            except sqlite3.OperationalError:
                if attempt == 19:
                    raise
                await asyncio.sleep(0.1 * (attempt + 1))

    # --- the Bot API -----------------------------------------------------------------------------

    async def _send(self, row: Delivery, i: int, text: str) -> int:
        as_plain = row.id in self._plain
        body = plain_text(text) if as_plain else text
        mode: Any = None if as_plain else ParseMode.HTML
        if row.kind == DeliveryKind.EDIT:
            target = self.outbox.get(row.edit_of or 0)
            assert target is not None  # checked by _edit_ready
            message_id = target.sent_ids[i]
            if i == 0 and target.chart_id is not None:
                await self.bot.edit_message_caption(row.chat_id, message_id, caption=body, parse_mode=mode)
            else:
                await self.bot.edit_message_text(body, row.chat_id, message_id, parse_mode=mode)
            return message_id
        if i == 0 and row.chart_id is not None and not as_plain:
            return await self._send_photo(row, body, mode)
        msg = await self.bot.send_message(row.chat_id, body, parse_mode=mode, allow_paid_broadcast=self.paid)
        return msg.message_id

    async def _send_photo(self, row: Delivery, caption: str, mode: Any) -> int:
        """The chart: uploaded once (others wait for its file_id), then sent by file_id."""
        chart_id = row.chart_id or 0
        chart = self.outbox.chart_file(chart_id)
        if chart.file_id is None:
            async with self._chart_locks.setdefault(chart_id, asyncio.Lock()):
                chart = self.outbox.chart_file(chart_id)
                if chart.file_id is None:
                    msg = await self._photo(row.chat_id, chart.png, caption, mode)
                    self._remember(chart_id, msg)
                    return msg.message_id
        return (await self._photo(row.chat_id, chart.file_id, caption, mode)).message_id

    async def _photo(self, chat_id: int, photo: bytes | str, caption: str, mode: Any) -> Message:
        return await self.bot.send_photo(
            chat_id, photo, caption=caption, parse_mode=mode, allow_paid_broadcast=self.paid
        )

    def _remember(self, chart_id: int, msg: Message) -> None:
        if msg.photo:
            self.outbox.set_file_id(chart_id, file_id=msg.photo[-1].file_id)
