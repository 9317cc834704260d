"""One outbox row to Telegram: its messages sent (or edited) one by one, each recorded as it goes,
and what Telegram says back acted on (:func:`~bot.notify.outbound.verdicts.classify`).

* a message is recorded (``sent_ids``, and how it went: ``sent_as``, so an edit edits a photo's
  caption or a text as it is in the chat; by the :class:`~bot.notify.outbound.ledger.Ledger`, many chats'
  in one write) before the next is sent, and a bookkeeping write that fails (the database busy,
  full or read-only) is retried until it is written: a message Telegram has is never sent again
  by this process, and nothing unsent is marked sent;
* wait (429) → every send pauses as long as Telegram asked, then the same row;
* retry (a network error, a timeout, a 5xx: never final) → the same row after a backoff (1 s,
  doubling to 5 min), in its chat's order, until ``delivery_deadline_hours`` after it was queued;
* blocked (403) → the chat is marked blocked and its rows stop;
* migrated → the chat and its rows take the new id (:meth:`Outbox.move_chat`), and the row goes
  again;
* gone (the message to edit was deleted, or is in the chat as it was before a migration) → the
  edit becomes a new text message in the chat as it is now;
* unchanged (an edit that changes nothing) → sent; plain (HTML or a photo refused) → the row once
  more as plain text; refused (a 400 no retry fixes) → ``failed`` with Telegram's reason.

An alert's chart is uploaded once, then sent by Telegram's file_id (:class:`ChartUpload`).

A write refused because another process leads now (:class:`~bot.errors.Fenced`), or ``leading()``
false just before a message (the server ended the leader's lock session), stops it: no message
starts any more (``closing``) and ``on_fenced`` tells the runtime, which steps down (both given
as a :class:`Fence`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from telegram import Bot, Message
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.errors import Fenced, StoreError, StoreUnavailable
from bot.notify.outbound import bare
from bot.notify.outbound.delivery_watch import DeliveryWatch
from bot.notify.outbound.ledger import Ledger
from bot.notify.outbound.link import Link
from bot.notify.outbound.pacer import Pacer
from bot.notify.outbound.transport import CONNECTIONS
from bot.notify.outbound.verdicts import Action, Verdict, classify
from bot.notify.settings import TelegramSettings
from bot.render.alert import anew, plain_text
from bot.store.outbox import PHOTO, PLAIN, TEXT, Delivery, DeliveryKind, DeliveryState, Outbox
from bot.store.subscribers import Subscribers

log = logging.getLogger("tic_alert.sender")
T = TypeVar("T")
PENDING, SENT, FAILED = DeliveryState.PENDING, DeliveryState.SENT, DeliveryState.FAILED
MAX_BACKOFF = 300.0


def sent_as(row: Delivery, i: int) -> str:
    """How message ``i`` of a sent row went (a row sent before this was recorded: a chart's
    caption first, text after)."""
    if i < len(row.sent_as):
        return row.sent_as[i]
    return PHOTO if i == 0 and row.chart_id is not None else TEXT


def backoff(attempts: int) -> float:
    """Seconds before the next try of a row that failed ``attempts`` times already."""
    return min(MAX_BACKOFF, 2.0 ** min(attempts, 10))


class ChartUpload:
    """Sends a release's chart as an alert's photo through ``bot``: uploaded once (the other
    chats' sends wait for its file_id, kept in the outbox), then sent by Telegram's file_id."""

    def __init__(self, bot: Bot, outbox: Outbox, paid: bool | None):
        self.bot, self.outbox, self.paid = bot, outbox, paid
        self._locks: dict[int, asyncio.Lock] = {}
        self._file_ids: dict[int, str] = {}  # chart id → Telegram's file_id, once known

    async def send(self, chat_id: int, chart_id: int, caption: str, mode: Any) -> int:
        """The chart with its caption; the message id."""
        file_id = self._file_ids.get(chart_id)  # no read of the database a send at 1,000/s
        if file_id is None:
            async with self._locks.setdefault(chart_id, asyncio.Lock()):
                chart = self.outbox.chart_file(chart_id)  # uploaded by an earlier run, perhaps
                if chart.file_id is None:
                    msg = await self.bot.send_photo(
                        chat_id, chart.png, caption=caption, parse_mode=mode, allow_paid_broadcast=self.paid
                    )
                    self._remember(chart_id, msg)
                    return msg.message_id
                file_id = self._file_ids[chart_id] = chart.file_id
        params = dict(chat_id=chat_id, photo=file_id, caption=caption, parse_mode=mode)
        return await bare.send(self.bot, "sendPhoto", **params, allow_paid_broadcast=self.paid)

    def _remember(self, chart_id: int, msg: Message) -> None:
        """Keep the upload's file_id (if the database refuses, the next chat uploads again)."""
        if not msg.photo:
            return
        self._file_ids[chart_id] = msg.photo[-1].file_id
        try:
            self.outbox.set_file_id(chart_id, file_id=msg.photo[-1].file_id)
        except StoreError as err:
            log.warning("chart %s: its file_id was not kept (%s)", chart_id, err)


@dataclass(frozen=True)
class Fence:
    """Whether this process still leads: ``leading()``, asked just before each message, and
    ``on_fenced(why)``, told once sending stops because another process leads (the runtime steps
    down). The defaults: one process, always leading."""

    on_fenced: Callable[[str], None] = lambda why: None
    leading: Callable[[], bool] = lambda: True


class Courier:
    """Carries rows to Telegram through ``bot``, one row per chat at a time (the sender decides).
    It sees every call's answer or network error, so it keeps the :class:`Link`'s state."""

    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        subscribers: Subscribers,
        settings: TelegramSettings,
        pacer: Pacer,
        watch: DeliveryWatch,
        clock: Callable[[], dt.datetime],
        fence: Fence | None = None,
    ):
        fence = fence or Fence()
        self.bot = bot
        self.outbox = outbox
        self.subscribers = subscribers
        self.pacer = pacer
        self.link = Link()  # up or down: the sender probes while it is down
        self.watch = watch  # a log line per delivery; the metrics
        self.clock = clock
        self.on_fenced, self.leading = fence.on_fenced, fence.leading  # leading(): just before a send
        self.deadline = dt.timedelta(hours=settings.delivery_deadline_hours)
        self.paid = True if settings.paid_broadcast else None  # None: the parameter is left out
        self.charts = ChartUpload(bot, outbox, self.paid)
        self.closing = False  # the process stops: no message is started any more
        self.busy: set[int] = set()  # chats with a Bot API call in flight (or its answer being recorded)
        self.recording: set[int] = set()  # chats whose message Telegram has, its record being written
        self.last_failure = ""  # the newest network error, for the operators
        self._plain: set[int] = set()  # rows whose HTML or photo Telegram refused
        self._anew: set[int] = set()  # edits whose message is gone: sent as new messages
        self.ledger = Ledger(outbox, clock)  # each message recorded before the chat's next
        # calls to the Bot API at once, as many as connections: a send that took its slot never
        # waits for a connection (after a stall of the Bot API, those would all go at once)
        self.calls = asyncio.Semaphore(CONNECTIONS)

    async def deliver(self, row: Delivery) -> None:
        """Send the row's messages not sent yet (the sender claimed it: ``sending``); each is
        recorded before the next, the last one together with the row's ``sent``."""
        try:
            await self._carry(row)
        except Fenced as err:  # another process leads: it sends this row
            self.fenced(str(err))

    def fenced(self, why: str) -> None:
        """Another process leads now: no message starts any more, and the runtime hears of it."""
        self.closing = True
        self.on_fenced(why)

    async def _carry(self, row: Delivery) -> None:
        try:
            if row.kind == DeliveryKind.EDIT and not await self._edit_ready(row):
                return
            api = 0.0  # seconds waiting for the Bot API (not for our own pace)
            unsent = range(len(row.sent_ids), len(row.messages))  # those before, sent before a stop
            # the row's messages Telegram has and how each went (this courier's alone)
            sent = [(m, sent_as(row, i)) for i, m in enumerate(row.sent_ids)]
            for i in unsent:
                if self.closing:
                    await self._set(row, PENDING)  # the rest after the restart
                    return
                await self.pacer.own_slot(row.chat_id)
                took = await self._one(row, i, sent, last=i == unsent[-1])
                if took is None:  # stopped, or stepped down, while it waited for its slot
                    await self._set(row, PENDING)
                    return
                api += took
            if not unsent:
                await self._set(row, SENT, detail="")
            self.watch.finished(row, SENT, api)
        except TelegramError as err:
            await self._answered(row, classify(err))
        except asyncio.CancelledError:
            self._requeue(row)
            raise
        except Fenced:
            raise  # not a fault of the row: deliver() stops
        except Exception as err:  # a bug must not stop the others
            log.exception("delivery %s failed", row.id)
            await self._fail(row, f"{type(err).__name__}: {err}")

    async def _one(self, row: Delivery, i: int, sent: list[tuple[int, str]], last: bool) -> float | None:
        """Message ``i`` in its slot: sent (a connection held for the call alone), added to ``sent``
        and recorded (the chat is busy until it is; the ``last`` one makes the row ``sent`` in the
        same write); the seconds the Bot API took, or None when stopped before it went."""
        try:
            async with self.calls:  # a connection is free: the slot taken now is the send's
                await self.pacer.wait(row.chat_id)
                if not self.closing and not self.leading():
                    self.fenced("this process's leader session ended")
                if self.closing:
                    return None
                self.busy.add(row.chat_id)
                started = time.monotonic()
                message_id, how = await self._send(row, i, row.messages[i])
            api = time.monotonic() - started
            self.link.answered()
            self.pacer.sent(row.chat_id)
            sent.append((message_id, how))
            self.recording.add(row.chat_id)
            ids, went = zip(*sent, strict=True)
            # cancelled while it waits (a stop), the record stays with the Ledger, still written
            await self.ledger.sent(row.id, ids, went, last=last)
        finally:
            self.busy.discard(row.chat_id)
            self.recording.discard(row.chat_id)
        return api

    async def _edit_ready(self, row: Delivery) -> bool:
        """An edit goes once the message it edits was sent; it fails if that never will be."""
        target = self.outbox.get(row.edit_of) if row.edit_of else None
        if target is None or target.state in (FAILED, DeliveryState.BLOCKED):
            await self._fail(row, "the message to edit was never sent")
            return False
        if target.state != SENT:
            await self._set(row, PENDING, not_before=self.clock() + dt.timedelta(seconds=2))
            return False
        return True

    async def _answered(self, row: Delivery, verdict: Verdict) -> None:
        """What Telegram said (or that it said nothing), acted on."""
        now = self.clock()
        if verdict.action == Action.RETRY:
            self.link.failed()
            self.last_failure = verdict.detail
        else:
            self.link.answered()
        match verdict.action:
            case Action.WAIT:
                self.pacer.pause(verdict.seconds)
                await self._retry(row, verdict.detail, verdict.seconds)
            case Action.RETRY if now - row.created_at < self.deadline:
                await self._retry(row, verdict.detail, backoff(row.attempts), attempt=True)
            case Action.RETRY:
                hours = self.deadline.total_seconds() / 3600
                await self._fail(row, f"{verdict.detail}; not sent within {hours:g} h")
            case Action.BLOCKED:
                await self._book(partial(self.subscribers.set_blocked, row.chat_id, True, now))
                await self._book(partial(self.outbox.block_chat, row.chat_id, now=now, detail=verdict.detail))
                log.info("chat %s blocked the bot: its deliveries stop", row.chat_id)
                self.watch.finished(row, DeliveryState.BLOCKED)
            case Action.MIGRATED if verdict.chat_id is not None:
                await self._book(partial(self.subscribers.migrate, row.chat_id, verdict.chat_id, now))
                await self._book(partial(self.outbox.move_chat, row.chat_id, to=verdict.chat_id))
                await self._retry(row, verdict.detail, 0)
            case Action.GONE if row.kind == DeliveryKind.EDIT:
                self._anew.add(row.id)
                await self._retry(row, f"{verdict.detail}; a new message next", 0)
            case Action.UNCHANGED:
                await self._set(row, SENT, detail="unchanged")
                self.watch.finished(row, SENT)
            case Action.PLAIN if row.id not in self._plain:
                self._plain.add(row.id)
                log.warning("delivery %s refused (%s): plain text, no photo, next", row.id, verdict.detail)
                await self._retry(row, f"{verdict.detail}; plain text next", 0)
            case _:
                await self._fail(row, verdict.detail)

    # --- bookkeeping -----------------------------------------------------------------------------

    async def _set(
        self,
        row: Delivery,
        state: DeliveryState,
        *,
        detail: str | None = None,
        not_before: dt.datetime | None = None,
        attempt: bool = False,
    ) -> None:
        write = partial(
            self.outbox.set_state,
            row.id,
            state,
            now=self.clock(),
            detail=detail,
            not_before=not_before,
            attempt=attempt,
        )
        await self._book(write)

    async def _retry(self, row: Delivery, detail: str, seconds: float, attempt: bool = False) -> None:
        later = self.clock() + dt.timedelta(seconds=seconds)
        await self._set(row, PENDING, detail=detail, not_before=later, attempt=attempt)
        self.watch.retried(row, detail)

    async def _fail(self, row: Delivery, detail: str) -> None:
        await self._set(row, FAILED, detail=detail)
        self.watch.finished(row, FAILED)

    async def _book(self, write: Callable[[], T]) -> T:
        """A bookkeeping write, retried until the database takes it (busy, full or read-only: the
        process waits with it rather than lose or repeat a message)."""
        delay = 0.1
        while True:
            try:
                done = write()
            except StoreUnavailable as err:
                if not self.ledger.failing:
                    log.warning("deliveries wait: the database refuses writes (%s); retrying", err)
                    self.ledger.failing = True
                await asyncio.sleep(delay)
                delay = min(5.0, delay * 2)
                continue
            if self.ledger.failing:
                log.warning("the database takes writes again: deliveries go on")
                self.ledger.failing = False
            return done

    def _requeue(self, row: Delivery) -> None:
        """Cancelled (the process stops): the row goes again after the restart, without its
        messages already recorded. Synchronous: nothing may be awaited once cancelled."""
        with contextlib.suppress(StoreError):  # else left 'sending': the restart sends it all the same
            self.outbox.set_state(row.id, PENDING, now=self.clock())

    # --- the Bot API -----------------------------------------------------------------------------

    async def _send(self, row: Delivery, i: int, text: str) -> tuple[int, str]:
        """Message ``i`` sent (or edited): its message id, and how it went (PHOTO, TEXT, PLAIN)."""
        as_plain = row.id in self._plain
        body = plain_text(text) if as_plain else text
        mode: Any = None if as_plain else ParseMode.HTML
        how = PLAIN if as_plain else TEXT
        if row.kind == DeliveryKind.EDIT:
            target = self.outbox.get(row.edit_of or 0)
            assert target is not None  # _edit_ready checked it
            if target.chat_id == row.chat_id and target.moved_from is None and row.id not in self._anew:
                return await self._edit(row.chat_id, target, i, body, mode), how
            # the message is gone: the edit's text as a new message (a migrated group still shows
            # the chart in its history; it only cannot be edited from the new id)
            if i == 0:
                body = plain_text(anew(text)) if as_plain else anew(text)
        elif i == 0 and row.chart_id is not None and not as_plain:
            return await self.charts.send(row.chat_id, row.chart_id, body, mode), PHOTO
        params = dict(chat_id=row.chat_id, text=body, parse_mode=mode, allow_paid_broadcast=self.paid)
        return await bare.send(self.bot, "sendMessage", **params), how

    async def _edit(self, chat_id: int, target: Delivery, i: int, body: str, mode: Any) -> int:
        """Edit message ``i`` of ``target`` as it was sent: a photo's caption, or a text (an alert
        whose photo was refused went as text)."""
        message_id = target.sent_ids[i]
        if sent_as(target, i) == PHOTO:
            await self.bot.edit_message_caption(chat_id, message_id, caption=body, parse_mode=mode)
        else:
            await self.bot.edit_message_text(body, chat_id, message_id, parse_mode=mode)
        return message_id
