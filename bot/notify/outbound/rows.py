"""The outbox's rows as the engine's items: durable, recorded message by message.

A row (an alert, a follow-up, an edit, an operator's note) is one or more messages to one chat.
Each message Telegram takes is recorded (``sent_ids``, and how it went: ``sent_as``, so an edit
edits a photo's caption or a text as it is in the chat; by the :class:`~bot.notify.outbound.ledger.Ledger`,
many chats' in one write) before the chat's next one goes: a message Telegram has is never sent
again by this process, and nothing unsent is marked sent. What the engine decides becomes the
row's state: ``pending`` again after a backoff (rows: 1 s doubling to 5 min, given up
``delivery_deadline_hours`` after the row was queued), ``sent``, ``failed`` with Telegram's
reason, or ``blocked``. An edit goes once the message it edits was sent; if that message is gone
(deleted, or in the chat as it was before a migration) the edit goes as a new message. Every
bookkeeping write is retried while the database refuses it
(:func:`~bot.notify.patience.written`).

A write refused because another process leads now (:class:`~bot.errors.Fenced`) stops the
engine (``closing``) and tells the runtime, which steps down.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial

from telegram.constants import ParseMode

from bot.errors import Fenced, StoreError
from bot.notify.outbound.delivery_watch import DeliveryWatch
from bot.notify.outbound.engine import Call, Engine, RetryPolicy
from bot.notify.outbound.ledger import Ledger
from bot.notify.patience import Attempts, written
from bot.render.alert import anew, plain_text
from bot.store.outbox import PHOTO, PLAIN, TEXT, Delivery, DeliveryKind, DeliveryState, Outbox

log = logging.getLogger("tic_alert.sender")
PENDING, SENT, FAILED = DeliveryState.PENDING, DeliveryState.SENT, DeliveryState.FAILED
FIRST_RETRY, MAX_BACKOFF = 1.0, 300.0


def sent_as(row: Delivery, i: int) -> str:
    """How message ``i`` of a sent row went (a row sent before this was recorded: a chart's
    caption first, text after)."""
    if i < len(row.sent_as):
        return row.sent_as[i]
    return PHOTO if i == 0 and row.chart_id is not None else TEXT


def backoff(attempts: int) -> float:
    """Seconds before the next try of a row that failed ``attempts`` times already."""
    return min(MAX_BACKOFF, FIRST_RETRY * 2.0 ** min(attempts, 10))


@dataclass(eq=False)
class RowItem:
    """One claimed row, as the engine carries it."""

    row: Delivery
    rows: Rows
    target: Delivery | None = None  # an edit's message, as it was sent
    first = False
    attempts: int = 0
    went: list[tuple[int, str]] = field(default_factory=list)  # Telegram's message ids, and how
    api: float = 0.0  # seconds waiting for the Bot API (not for our own pace)

    def __post_init__(self) -> None:
        self.chat_id, self.attempts = self.row.chat_id, self.row.attempts
        self.policy = self.rows.policy
        self.went = [(m, sent_as(self.row, i)) for i, m in enumerate(self.row.sent_ids)]
        self.how = TEXT  # how the message being sent goes
        self.editing = self.row.kind == DeliveryKind.EDIT

    # a row is read again at each claim: what must outlive one claim is kept by its source
    @property
    def plain(self) -> bool:
        return self.row.id in self.rows.plain

    @plain.setter
    def plain(self, value: bool) -> None:
        (self.rows.plain.add if value else self.rows.plain.discard)(self.row.id)

    @property
    def unknown(self) -> bool:
        return (self.row.id, len(self.went)) in self.rows.unknown

    @unknown.setter
    def unknown(self, value: bool) -> None:
        key = (self.row.id, len(self.went))
        (self.rows.unknown.add if value else self.rows.unknown.discard)(key)

    def age(self) -> float:
        return (self.rows.clock() - self.row.created_at).total_seconds()

    def slotted(self) -> None:
        pass

    def anew(self) -> None:
        self.rows.anew.add(self.row.id)

    def in_place(self) -> bool:
        """An edit of a message still in this chat as it is (not deleted, not moved)."""
        t = self.target
        return (
            t is not None
            and t.chat_id == self.row.chat_id
            and t.moved_from is None
            and self.row.id not in self.rows.anew
        )

    def next_call(self) -> Call | None:
        """Message ``i`` (the first not sent yet) as a call: sent, or an edit of what was sent."""
        row, i = self.row, len(self.went)
        if i >= len(row.messages):
            return None
        text = row.messages[i]
        body = plain_text(text) if self.plain else text
        mode = None if self.plain else ParseMode.HTML
        self.how = PLAIN if self.plain else TEXT
        paid = self.rows.paid
        target = self.target
        if target is not None:
            if self.in_place():
                where = dict(chat_id=row.chat_id, message_id=target.sent_ids[i], parse_mode=mode)
                if sent_as(target, i) == PHOTO:
                    return Call("editMessageCaption", {**where, "caption": body})
                return Call("editMessageText", {**where, "text": body})
            if i == 0:  # gone: the edit as a new message (a migrated group still shows the old one)
                body = plain_text(anew(text)) if self.plain else anew(text)
        elif i == 0 and row.chart_id is not None and not self.plain:
            png, digest = self.rows.chart(row.chart_id)
            params = dict(chat_id=row.chat_id, caption=body, parse_mode=mode, allow_paid_broadcast=paid)
            self.how = PHOTO
            return Call("sendPhoto", params, photo=png, digest=digest)
        return Call(
            "sendMessage", dict(chat_id=row.chat_id, text=body, parse_mode=mode, allow_paid_broadcast=paid)
        )

    async def sent(self, answer: Mapping[str, object], seconds: float) -> None:
        """Recorded before the chat's next message (the last one makes the row ``sent``)."""
        i, row = len(self.went), self.row
        if self.target is not None and self.in_place():
            message_id = self.target.sent_ids[i]  # edited: the message as it was sent
        else:
            message_id = int(str(answer["message_id"]))
        self.went.append((message_id, self.how))
        self.api += seconds
        last = len(self.went) == len(row.messages)
        ids, went = zip(*self.went, strict=True)
        self.rows.recording.add(row.chat_id)
        try:  # cancelled while it waits (a stop), the record stays with the Ledger, still written
            await self.rows.ledger.sent(row.id, ids, went, last=last)
        finally:
            self.rows.recording.discard(row.chat_id)
        if last:
            self.rows.watch.finished(row, SENT, self.api)

    async def again(self, seconds: float, why: str, *, attempt: bool = False) -> None:
        later = self.rows.clock() + dt.timedelta(seconds=seconds)
        await self.rows.set(self.row, PENDING, detail=why, not_before=later, attempt=attempt)
        self.rows.watch.retried(self.row, why)

    async def skip(self, why: str) -> None:
        await self.rows.set(self.row, SENT, detail="unchanged")
        self.rows.watch.finished(self.row, SENT)

    async def end(self, outcome: str, why: str) -> None:
        if outcome == DeliveryState.BLOCKED:  # the chat's rows, this one too, are blocked already
            self.rows.watch.finished(self.row, DeliveryState.BLOCKED)
            return
        await self.rows.set(self.row, FAILED, detail=why)
        self.rows.watch.finished(self.row, FAILED)


class Rows:
    """The outbox as the engine's source: carries claimed rows (one per chat at a time: the
    scheduler decides) and keeps what outlives a claim (rows gone plain, edits gone anew)."""

    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        watch: DeliveryWatch,
        writes: Attempts,
        deadline_hours: float,
        paid: bool,
        clock: Callable[[], dt.datetime],
    ):
        self.engine, self.outbox, self.watch, self.writes, self.clock = engine, outbox, watch, writes, clock
        why = f"not sent within {deadline_hours:g} h"
        self.policy = RetryPolicy(FIRST_RETRY, MAX_BACKOFF, deadline_hours * 3600, why)
        self.paid = True if paid else None  # None: the parameter is left out
        self.ledger = Ledger(outbox, clock, writes)  # each message recorded before the chat's next
        self.recording: set[int] = set()  # chats whose message Telegram has, its record being written
        self.plain: set[int] = set()  # rows whose HTML or photo Telegram refused
        self.anew: set[int] = set()  # edits whose message is gone: sent as new messages
        self.unknown: set[tuple[int, int]] = set()  # (row, message) whose answer never came once
        self._charts: dict[int, tuple[bytes, str]] = {}  # a release's few charts: no read a send

    def chart(self, chart_id: int) -> tuple[bytes, str]:
        """A chart's PNG and its sha256 (read once)."""
        if chart_id not in self._charts:
            png = self.outbox.chart_file(chart_id).png
            if len(self._charts) >= 64:
                self._charts.clear()
            self._charts[chart_id] = (png, hashlib.sha256(png).hexdigest())
        return self._charts[chart_id]

    async def deliver(self, row: Delivery) -> None:
        """Send the row's messages not sent yet (the scheduler claimed it: ``sending``)."""
        try:
            item = RowItem(row, self)
            if row.kind == DeliveryKind.EDIT and not await self._edit_ready(item):
                return
            if len(row.sent_ids) >= len(row.messages):  # each recorded, the row's state not yet
                await self.set(row, SENT, detail="")
                self.watch.finished(row, SENT)
                return
            if not await self.engine.carry(item):
                await self.set(row, PENDING)  # stopped before its next message: the rest after
        except asyncio.CancelledError:
            self._requeue(row)
            raise
        except Fenced as err:  # another process leads: it sends this row
            self.engine.fenced(str(err))
        except Exception as err:  # a bug must not stop the others
            log.exception("delivery %s failed", row.id)
            with contextlib.suppress(Fenced):
                await self.set(row, FAILED, detail=f"{type(err).__name__}: {err}")
                self.watch.finished(row, FAILED)

    async def _edit_ready(self, item: RowItem) -> bool:
        """An edit goes once the message it edits was sent; it fails if that never will be."""
        row = item.row
        target = self.outbox.get(row.edit_of) if row.edit_of else None
        if target is None or target.state in (FAILED, DeliveryState.BLOCKED):
            await item.end(FAILED, "the message to edit was never sent")
            return False
        if target.state != SENT:
            await self.set(row, PENDING, not_before=self.clock() + dt.timedelta(seconds=2))
            return False
        item.target = target
        return True

    async def set(
        self,
        row: Delivery,
        state: DeliveryState,
        *,
        detail: str | None = None,
        not_before: dt.datetime | None = None,
        attempt: bool = False,
    ) -> None:
        """The row's new state, written however long the database refuses it."""
        args = dict(now=self.clock(), detail=detail, not_before=not_before, attempt=attempt, claimed=True)
        await written(partial(self.outbox.set_state, row.id, state, **args), self.writes)

    def _requeue(self, row: Delivery) -> None:
        """Cancelled (the process stops): the row goes again after the restart, without its
        messages already recorded. Synchronous: nothing may be awaited once cancelled."""
        with contextlib.suppress(StoreError):  # else left 'sending': the restart sends it all the same
            self.outbox.set_state(row.id, PENDING, now=self.clock(), claimed=True)
