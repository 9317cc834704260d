"""The one stage every message the bot sends goes through: pace → send → classify → act.

Two sources hand it :class:`Item` s: the outbox's rows (durable: :mod:`~bot.notify.outbound.rows`)
and the commands' replies (in memory, first in line: :mod:`~bot.notify.outbound.reply_queue`). An
item is one or more Bot API calls to one chat, in order; the engine, for each call:

* **paces** it (:class:`~bot.notify.outbound.pacer.Pacer`: the chat's own slot, then an overall
  one, a reply's ahead of the broadcast's), with at most ``CONNECTIONS`` calls at once, so a
  send that took its slot never waits for a connection;
* **sends** it through the bot's one transport (a chart or any photo uploaded once, then sent by
  its file_id: :class:`~bot.notify.outbound.photos.Photos`), and hands the answer to the item,
  which records it (a row's message is in the database before the chat's next one goes);
* **classifies** Telegram's answer or its silence (:func:`~bot.notify.outbound.verdicts.classify`),
  and feeds the :class:`~bot.notify.outbound.link.Link` with every call, rows and replies alike;
* **acts** on the verdict, in one ``match``: a 429 pauses every send and the item goes again; a
  network error is retried with the item's :class:`RetryPolicy` until it gives up; an answer that
  never came (:attr:`Verdict.unknown`, the message perhaps delivered) is counted, and retried at
  most once more per message while the Bot API answers other calls (in an outage, the Link
  down, it is one more network error: nothing would ever be sent otherwise); a chat that
  blocked the bot or moved (a group became a supergroup) is for
  :class:`~bot.notify.outbound.chat_events.ChatEvents` (its subscriber row, its outbox rows and
  its queued replies together); HTML or a photo refused goes once more as plain
  text; an edit of a message that is gone goes as a new message; a refusal for good ends it.

The :class:`Fence` stops it: once another process leads (or this one's lock lapsed) no call
starts (``closing``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from telegram import Bot
from telegram.error import TelegramError

from bot.notify.outbound.chat_events import ChatEvents
from bot.notify.outbound.link import Link
from bot.notify.outbound.pacer import Pacer
from bot.notify.outbound.photos import Photos
from bot.notify.outbound.transport import CONNECTIONS
from bot.notify.outbound.verdicts import Action, Verdict, classify
from bot.notify.patience import Attempts, refused_writes
from bot.telemetry import Telemetry

log = logging.getLogger("tic_alert.sender")
ANSWER_NEVER_CAME = "no answer came twice (the message may have reached the chat)"


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for an item whose calls got no answer: ``first`` seconds, doubling to ``cap``;
    given up ``give_up`` seconds after the item began (its row was queued, its command came),
    saying ``why``."""

    first: float
    cap: float
    give_up: float
    why: str = "given up"

    def delay(self, attempts: int, age: float) -> float | None:
        """Seconds before the next try after ``attempts`` failed ones; None: give up."""
        if age >= self.give_up:
            return None
        return min(self.cap, self.first * 2.0 ** min(attempts, 30))


@dataclass(frozen=True)
class Call:
    """One Bot API call: its method and parameters (None: left out), and a photo to upload once
    and send by its file_id after (``photo`` bytes, put in as the method's ``photo``; ``digest``,
    its sha256, when the caller knows it already)."""

    method: str
    params: Mapping[str, object]
    photo: bytes | None = None
    digest: str | None = None


class Item(Protocol):
    """What a source hands the engine: calls for one chat, and what to do with each outcome."""

    chat_id: int
    first: bool  # a reply: ahead of the broadcast for an overall slot
    policy: RetryPolicy
    attempts: int  # calls that got no answer so far
    plain: bool  # Telegram refused its HTML or photo: plain text from now on
    unknown: bool  # a call of this message got no answer already (retried once, no more)
    editing: bool  # an edit whose message is gone may go as a new message

    def next_call(self) -> Call | None: ...  # the next call, or None: nothing more this turn

    def age(self) -> float: ...  # seconds since it began

    async def sent(self, answer: Mapping[str, object], seconds: float) -> None: ...

    async def again(self, seconds: float, why: str, *, attempt: bool = False) -> None: ...

    async def skip(self, why: str) -> None: ...  # the message needs no send (an unchanged edit)

    async def end(self, outcome: str, why: str) -> None: ...  # failed, dropped, blocked

    def slotted(self) -> None: ...  # its call took its slot (or it ended before one)

    def anew(self) -> None: ...  # the edit's message is gone: a new message next


@dataclass(frozen=True)
class Fence:
    """Whether this process still leads: ``leading()``, asked just before each call, and
    ``on_fenced(why)``, told once sending stops because another process leads (the runtime steps
    down). The defaults: one process, always leading."""

    on_fenced: Callable[[str], None] = lambda why: None
    leading: Callable[[], bool] = lambda: True


@dataclass
class Engine:
    """Carries items to Telegram through ``bot``; sees every call's answer, so keeps the Link."""

    bot: Bot
    pacer: Pacer
    photos: Photos
    chats: ChatEvents
    fence: Fence = field(default_factory=Fence)
    telemetry: Telemetry | None = None
    writes: Attempts = field(default_factory=refused_writes)  # every refused database write
    link: Link = field(default_factory=Link)
    closing: bool = False  # the process stops, or another leads: no call starts any more
    last_failure: str = ""  # the newest network error, for the operators
    unknown_outcomes: int = 0
    busy: set[int] = field(default_factory=set)  # chats with a call in flight or being recorded

    def __post_init__(self) -> None:
        self.calls = asyncio.Semaphore(CONNECTIONS)

    def fenced(self, why: str) -> None:
        """Another process leads now: no call starts any more, and the runtime hears of it."""
        self.closing = True
        self.fence.on_fenced(why)

    async def carry(self, item: Item) -> bool:
        """The item's calls, one by one, until it has none left this turn; False when stopped
        before a call went (the item is as it was: its source puts it back)."""
        try:
            while (call := item.next_call()) is not None:
                if not await self._one(item, call):
                    return False
            return True
        except TelegramError as err:
            await self.act(item, classify(err), int(str(call.params["chat_id"])))
            return True
        finally:
            item.slotted()

    async def _one(self, item: Item, call: Call) -> bool:
        """One call in its slot (a connection held for the call alone), its answer handed to the
        item (the chat busy until it is recorded); False when stopped before it went."""
        if self.closing:
            return False
        await self.pacer.own_slot(item.chat_id)
        try:
            async with self.calls:
                await self.pacer.wait(item.chat_id, first=item.first)
                item.slotted()
                if not self.closing and not self.fence.leading():
                    self.fenced("this process's leader session ended")
                if self.closing:
                    return False
                self.busy.add(item.chat_id)
                started = time.monotonic()
                answer = await self.send(call, plain=item.plain)
            took = time.monotonic() - started
            self.link.answered()
            self.pacer.sent(item.chat_id)
            item.unknown = False
            await item.sent(answer, took)
        finally:
            self.busy.discard(item.chat_id)
        return True

    async def send(self, call: Call, plain: bool = False) -> Mapping[str, object]:
        """The call through the bot, Telegram's answer as JSON. ``Bot._post`` is how PTB's own
        ``send_message`` posts (its defaults, its rate limiter, its request, the same errors from
        the answer: a 429, a 403, a migrated group, a 5xx, a timeout), without building a
        ``telegram.Message`` of the answer: a tenth of the sender's time at 1,000 messages a
        second, for the one id it keeps (PTB 20–22 alike; the tests reach the real client)."""
        if call.photo is not None and not plain:
            return await self.photos.send(self.bot, call.method, call.params, call.photo, call.digest)
        answer = await self.bot._post(call.method, dict(call.params))
        return answer if isinstance(answer, Mapping) else {}

    async def act(self, item: Item, verdict: Verdict, sent_to: int) -> None:
        """What Telegram said (or that it said nothing) to a call to chat ``sent_to``, acted on
        (the item's chat may have moved meanwhile: what moves is the chat the call went to)."""
        self._observe(item, verdict)
        match verdict.action:
            case Action.WAIT:
                self.pacer.pause(verdict.seconds)
                await item.again(verdict.seconds, verdict.detail)
            case Action.RETRY if verdict.unknown and item.unknown and not self.link.down:
                await item.end("failed", f"{verdict.detail}; {ANSWER_NEVER_CAME}")
            case Action.RETRY:
                item.unknown = item.unknown or verdict.unknown  # cleared by an answer only
                delay = item.policy.delay(item.attempts, item.age())
                if delay is None:
                    await item.end("failed", f"{verdict.detail}; {item.policy.why}")
                else:
                    await item.again(delay, verdict.detail, attempt=True)
            case Action.BLOCKED:
                await self.chats.blocked(sent_to, verdict.detail)
                await item.end("blocked", verdict.detail)
            case Action.MIGRATED if verdict.chat_id is not None:
                await self.chats.migrated(sent_to, verdict.chat_id)
                await item.again(0.0, verdict.detail)
            case Action.GONE if item.editing:
                item.anew()
                await item.again(0.0, f"{verdict.detail}; a new message next")
            case Action.UNCHANGED:
                await item.skip(verdict.detail)
            case Action.PLAIN if not item.plain:
                item.plain = True
                log.warning("chat %s refused %s: plain text, no photo, next", item.chat_id, verdict.detail)
                await item.again(0.0, f"{verdict.detail}; plain text next")
            case _:
                await item.end("failed", verdict.detail)

    def _observe(self, item: Item, verdict: Verdict) -> None:
        """The Link hears of every answer; an answer that never came is counted and logged."""
        if verdict.action is not Action.RETRY:
            self.link.answered()
            return
        self.link.failed()
        self.last_failure = verdict.detail
        if verdict.unknown:
            self.unknown_outcomes += 1
            if self.telemetry is not None:
                self.telemetry.unknown_outcomes.inc()
            if item.unknown and not self.link.down:  # (the transport said the kind of trouble once)
                log.warning("unknown outcome twice: chat %s, %s; given up", item.chat_id, verdict.detail)
            else:
                log.info(
                    "unknown outcome: chat %s, %s; sent again after a backoff", item.chat_id, verdict.detail
                )
