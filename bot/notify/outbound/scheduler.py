"""The sender: drains the outbox into Telegram, paced, one bad chat never stopping the others.

Runs in the bot's event loop. Each round starts the due rows (:meth:`Outbox.due`: oldest first,
one row per chat at a time, in order) as tasks, up to ``workers`` at once; the
:class:`~bot.notify.outbound.engine.Engine` carries each row (:mod:`~bot.notify.outbound.rows`),
paced by a :class:`~bot.notify.outbound.pacer.Pacer`; python-telegram-bot's AIORateLimiter is
only the backstop.

When the Bot API stops answering (the :class:`~bot.notify.outbound.link.Link` is down) no row starts;
a ``getMe`` probe goes at growing intervals, and the first answer makes every row that was
waiting out a network error due at once. An outage that lasts ``LATE_AFTER`` is told to the
operators' chats once (operator rows in the outbox), and once more when every delivery has
caught up. A row still unsent ``delivery_deadline_hours`` after it was queued is given up.

On stop (SIGTERM, Ctrl-C), no message starts any more: a row waiting for its slot goes back to
``pending`` (its sent messages recorded), a call already with Telegram is awaited (up to the
request timeout) and recorded, the record waited for while the database refuses writes (up to
``RECORD_GRACE``); only what is left after that is sent again after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from telegram import Bot
from telegram.error import TelegramError

from bot.errors import Fenced, StoreError, StoreUnavailable
from bot.notify.outbound.chat_events import ChatEvents, QueuedReplies
from bot.notify.outbound.delivery_watch import DeliveryWatch
from bot.notify.outbound.engine import Engine, Fence
from bot.notify.outbound.pacer import Pacer, pacer_for
from bot.notify.outbound.photos import Photos
from bot.notify.outbound.rows import Rows
from bot.notify.outbound.verdicts import NETWORK, Action, classify
from bot.notify.patience import kind_of, refused_writes
from bot.notify.settings import TelegramSettings
from bot.store.db import iso
from bot.store.outbox import Delivery, NewDelivery, Outbox
from bot.store.photos import PhotoIds
from bot.store.subscribers import Subscribers
from bot.telemetry import Telemetry

log = logging.getLogger("tic_alert.sender")
IDLE_SECONDS = 1.0  # with no wake-up (poller in another process), look for new rows this often
LATE_AFTER = 30.0  # seconds without an answer from the Bot API before the operators hear of it
PROBE_TIMEOUT = 3.0  # a probe that gets no answer in this long has failed
EXPIRE_EVERY = 60.0
RECORD_GRACE = 60.0  # a stop waits this long for the database to record a message Telegram has


def make_engine(
    bot: Bot,
    outbox: Outbox,
    subscribers: Subscribers,
    pacer: Pacer,
    fence: Fence | None = None,
    replies: QueuedReplies | None = None,
    telemetry: Telemetry | None = None,
) -> Engine:
    """The one engine of a bot: its rows' and replies' chats moved or blocked together, its
    photos' file_ids kept in the database, its refused writes told once."""
    writes = refused_writes()
    chats = ChatEvents(subscribers, outbox, replies, writes)
    photos = Photos(PhotoIds(outbox.conn))
    return Engine(bot, pacer, photos, chats, fence or Fence(), telemetry, writes=writes)


@dataclass
class Outage:
    """The Bot API not answering, from ``since``: told to the operators yet, rows resumed yet."""

    since: dt.datetime
    told: bool = False
    resumed: bool = False


class Sender:
    """Sends outbox rows through ``bot``; :meth:`run` until ``stop`` is set (or it is cancelled)."""

    def __init__(
        self,
        bot: Bot,
        outbox: Outbox,
        subscribers: Subscribers,
        settings: TelegramSettings,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        watch: DeliveryWatch | None = None,
        engine: Engine | None = None,
    ):
        self.bot = bot
        self.outbox = outbox
        self.settings = settings
        self.clock = clock
        self.engine = engine or make_engine(bot, outbox, subscribers, pacer_for(settings))
        self.engine.chats.moved = self.wake  # a chat's rows moved: look again
        self.pacer = self.engine.pacer
        self.watch = watch or DeliveryWatch()  # a log line per delivery; the metrics
        hours, paid = settings.delivery_deadline_hours, settings.paid_broadcast
        self.rows = Rows(self.engine, outbox, self.watch, self.engine.writes, hours, paid, clock)
        self.link = self.engine.link  # the Bot API up or down (probed here while it is down)
        # a row holds its worker while its chat waits a second between its messages: two per
        # overall slot a second keeps every slot taken (at 950/s: 1,900 rows in flight, tasks)
        self.workers = max(8, min(2000, round(2 / self.pacer.interval)))
        self.refill = max(1, self.workers // 8)  # free workers that call the next round early
        self.grace = settings.request_timeout_seconds + 1.0  # a call in flight when stopping
        self.record_grace = RECORD_GRACE
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task] = {}  # chat id → its row's task
        self._probe: asyncio.Task | None = None
        self._moves: set[asyncio.Task] = set()  # chats moving (a service message)
        self._outage: Outage | None = None
        self._expired_at = 0.0
        self.late_after = LATE_AFTER

    def wake(self) -> None:
        """New rows were committed: look now (thread-safe through loop.call_soon_threadsafe)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        if not await self._recover(stop):
            return
        try:
            while not stop.is_set():
                try:
                    await self._round()
                except Exception:  # the database or a bug: log it, keep the sender alive
                    log.exception("sender round failed; trying again in a second")
                    await asyncio.sleep(1.0)
        finally:
            await self._drain()

    async def _recover(self, stop: asyncio.Event) -> bool:
        """Rows a stop left 'sending' go back to 'pending' (waiting while the database refuses)."""
        while not stop.is_set():
            try:
                recovered = self.outbox.recover()
            except Fenced as err:  # another process leads already
                self.engine.fenced(str(err))
                return False
            except StoreError as err:  # another process holds the write lock, or the disk is full
                await asyncio.sleep(self.engine.writes.failed(kind_of(err)))
                continue
            self.engine.writes.succeeded()
            if recovered:
                log.info("%d deliveries left 'sending' by a stop or a dead leader are sent again", recovered)
            return True
        return False

    async def _round(self) -> None:
        """Start the due rows (one at a time per chat), or probe a silent Bot API, or wait."""
        self._expire()
        self._watch_link()
        if self.engine.closing:  # another process leads: this one stops
            await self._idle(IDLE_SECONDS)
            return
        if self.link.down:
            if self.link.probe_due():
                self.link.probe_started()
                self._probe = asyncio.create_task(self._probe_once())
            await self._idle(0.2)
            return
        room = self.workers - len(self._inflight)
        start = await self._claim(room, frozenset(self._inflight)) if room > 0 else []
        if start is None:
            await self._idle(0.5)
            return
        for row in start:
            task = asyncio.create_task(self.rows.deliver(row))
            task.add_done_callback(partial(self._finished, row.chat_id))
            self._inflight[row.chat_id] = task
        if not start:
            await self._idle(0.2 if self._inflight else IDLE_SECONDS)
        else:
            await asyncio.sleep(0)  # the rows just started take their slots before the next look

    async def _claim(self, room: int, busy: frozenset[int]) -> list[Delivery] | None:
        """Up to ``room`` due rows of chats not ``busy`` here, claimed (one write), read and claimed in
        a thread (the loop sends meanwhile); None while the database refuses, or another leads."""
        now = self.clock()

        def take() -> list[Delivery]:  # a due row of a busy chat is rare (its task is ending)
            rows = [r for r in self.outbox.due(now=now, limit=room + 8) if r.chat_id not in busy][:room]
            taken = self.outbox.claim_many([r.id for r in rows], now=now) if rows else set()
            return [r for r in rows if r.id in taken]

        try:
            taken = await asyncio.to_thread(take)
        except Fenced as err:
            self.engine.fenced(str(err))  # nothing more starts here
            return None
        except StoreUnavailable as err:
            self.engine.writes.failed(kind_of(err))  # said once; the next round tries again
            return None
        self.engine.writes.succeeded()
        return taken

    def _finished(self, chat_id: int, task: asyncio.Task) -> None:
        """A row's task ended: its worker is free; once a batch of them is, the next round looks."""
        if self._inflight.get(chat_id) is task:
            del self._inflight[chat_id]
        if self.workers - len(self._inflight) >= self.refill:
            self._wake.set()

    def chat_migrated(self, old_id: int, new_id: int) -> None:
        """Telegram said (a service message) that a group became a supergroup: the chat, its
        settings, its rows and its queued replies take the new id (:class:`ChatEvents`). An edit of
        a message sent before goes to the new chat as a new message (the old message is not in it)."""
        try:
            self.engine.chats.move_now(old_id, new_id)  # before the next round claims a row of it
        except StoreUnavailable:  # tried until the database takes it
            task = asyncio.get_running_loop().create_task(self.engine.chats.migrated(old_id, new_id))
            self._moves.add(task)
            task.add_done_callback(self._moves.discard)

    async def _idle(self, seconds: float) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):  # new rows (wake), or look again anyway
            await asyncio.wait_for(self._wake.wait(), seconds)

    # --- the link to Telegram --------------------------------------------------------------------

    async def _probe_once(self) -> None:
        """getMe: any answer from Telegram means the link is up again."""
        timeouts = dict(read_timeout=PROBE_TIMEOUT, connect_timeout=PROBE_TIMEOUT, pool_timeout=PROBE_TIMEOUT)
        try:
            await self.bot.get_me(**timeouts)  # type: ignore[arg-type]
        except TelegramError as err:
            if classify(err).action == Action.RETRY:
                self.link.probe_failed()
                return
        except Exception:  # a bug: log it, probe again later
            log.exception("probing the Bot API failed")
            self.link.probe_failed()
            return
        self.link.answered()
        self._wake.set()

    def _watch_link(self) -> None:
        """Note an outage; tell the operators once it is late, resume every waiting row when the
        Bot API answers again, and tell the operators once every row has caught up."""
        now = self.clock()
        outage = self._outage
        if self.link.down:
            if outage is None:
                self._outage = outage = Outage(now)
                log.warning("the Bot API does not answer (%s): deliveries wait", self.engine.last_failure)
            outage.resumed = False
            if not outage.told and (now - outage.since).total_seconds() >= self.late_after:
                outage.told = True
                self._tell(
                    f"late:{iso(outage.since)}",
                    f"⚠️ tic-alert: deliveries are late. The Bot API has not answered since"
                    f" {outage.since:%H:%M:%S} UTC ({self.engine.last_failure}); {self.outbox.unsent()}"
                    " deliveries wait and go out, in order, as soon as it answers.",
                )
            return
        if outage is None:
            return
        if not outage.resumed:
            outage.resumed = True
            n = self.outbox.retry_now(detail_prefix=NETWORK)
            log.warning("the Bot API answers again: %d deliveries waiting out a network error resume", n)
        if not outage.told:
            self._outage = None
        elif self.outbox.unsent() == 0:
            self._tell(
                f"caught-up:{iso(outage.since)}",
                f"✅ tic-alert: deliveries caught up at {now:%H:%M:%S} UTC"
                f" (late since {outage.since:%H:%M:%S} UTC).",
            )
            self._outage = None

    def _tell(self, key: str, text: str) -> None:
        """A line for the operators: in the log, and as operator rows in the outbox."""
        log.warning("OPERATOR delivery: %s", text)
        rows = [
            NewDelivery.operator(key=f"op:{key}:{admin}", chat_id=admin, html_text=html.escape(text))
            for admin in self.settings.admins
        ]
        try:
            with self.outbox.conn:
                self.outbox.add_many(rows, now=self.clock())
        except StoreError as err:
            log.warning("the operators' note was not queued: %s", err)

    def _expire(self) -> None:
        """Every minute: rows past their deadline are given up."""
        if time.monotonic() - self._expired_at < EXPIRE_EVERY:
            return
        self._expired_at = time.monotonic()
        now = self.clock()
        hours = self.settings.delivery_deadline_hours
        why = f"not sent within {hours:g} h"
        try:
            n = self.outbox.expire(created_before=now - dt.timedelta(hours=hours), now=now, detail=why)
        except StoreError as err:
            log.warning("expiring old deliveries waits: %s", err)
            return
        if n:
            self._tell(f"expired:{iso(now)}", f"❌ tic-alert: {n} deliveries given up: {why}.")

    # --- stopping --------------------------------------------------------------------------------

    async def _drain(self) -> None:
        """No message starts any more; calls in flight finish (up to ``grace``) and are recorded
        (a message Telegram has is waited for until the database takes its record, up to
        ``record_grace``: cut short, it would be sent again after the restart)."""
        self.engine.closing = True
        if self._probe is not None:
            self._probe.cancel()
        tasks = [t for t in self._inflight.values() if not t.done()]
        for chat, task in self._inflight.items():
            if chat not in self.engine.busy:
                task.cancel()  # waiting for its slot: back to pending, at once
        busy = [t for t in tasks if not t.cancelled() and not t.done()]
        loop = asyncio.get_running_loop()
        recorded_by = loop.time() + self.grace + self.record_grace
        if busy:
            _, late = await asyncio.wait(busy, timeout=self.grace)
            chats = {task: chat for chat, task in self._inflight.items()}
            recording = [t for t in late if chats[t] in self.rows.recording]
            if recording:
                log.warning("stopping waits for the database to record %d sent messages", len(recording))
                await asyncio.wait(recording, timeout=max(0.0, recorded_by - loop.time()))
            for task in late:
                task.cancel()  # its record, if Telegram has its message, stays with the Ledger
        await asyncio.gather(*tasks, *([self._probe] if self._probe else []), return_exceptions=True)
        # what Telegram has is recorded before the process ends (up to the same grace)
        await self.rows.ledger.flush(timeout=max(0.0, recorded_by - loop.time()))
        self._inflight.clear()
