"""Replies queued and paced like deliveries: a reply that was accepted is sent, in time, without 429s.

Each chat has a queue; its messages go one at a time, in the order (urgency, the asker's turn,
arrival): a refusal or a settings confirmation before a read, a read before a heavy answer (a
chart, a history, the release); in a group, a person who asked five things waits behind one who
asked one. One dispatcher hands the next overall slot of the shared :class:`Pacer` (the broadcast
takes its slots from it too) to the first message of the chats whose own slot has come, cheap
first, so Telegram's limits (30/s, 1/s a private chat, 20/min a group) are kept, not discovered.

Each message goes through the :class:`~bot.notify.outbound.engine.Engine`, as the outbox's rows
do, and what Telegram answers is acted on there: 429 pauses every send and the same message goes
again; a network error or a 5xx is retried with backoff (1 s, doubling to ``MAX_BACKOFF``) until
``GIVE_UP_SECONDS`` after the command; a chat that blocked the bot loses its queue; a group that
became a supergroup keeps its queue under the new id (:class:`~bot.notify.outbound.chat_events.ChatEvents`);
HTML Telegram refuses goes as plain text; a refusal for good drops the reply. Each dropped
reply, and each sent later than ``LATE_SECONDS`` after the command, is one log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from bot.notify.outbound.engine import Call, Engine, RetryPolicy
from bot.notify.outbound.pacer import MARGIN, Pacer
from bot.notify.outbound.pieces import Piece, piece_call, split_reply
from bot.notify.people.chatbot import Reply

log = logging.getLogger("tic_alert.replies")
LATE_SECONDS = 30.0  # a reply sent later than this after its command is logged as late
GIVE_UP_SECONDS = 600.0  # network errors are retried this long after the command, then dropped
MAX_BACKOFF = 30.0  # a reply's backoff doubles from a second to this
CROWDED_SECONDS = 30.0  # a chat whose queue takes longer than this at its pace takes no more reads


class Urgency(IntEnum):
    NOW = 0  # refusals and settings confirmations: short, and someone waits to know
    READ = 1  # cheap answers
    HEAVY = 2  # charts, histories, the release


@dataclass(eq=False)
class Pending:
    """One reply waiting in its chat's queue: the engine's item while one of its pieces goes."""

    order: tuple[int, int, int]  # urgency, the asker's turn, arrival
    user_id: int | None
    pieces: deque[Piece]
    accepted: float
    queue: ReplyQueue
    chat_id: int = 0
    not_before: float = 0.0  # after a network error: its backoff
    attempts: int = 0
    plain: bool = False  # Telegram refused its HTML or photo: plain text from now on
    unknown: bool = False  # its piece's answer never came once
    done: Callable[[str | None], None] | None = None  # told once it is sent (None) or dropped (why)
    first = True  # a reply takes the next overall slot ahead of the broadcast
    editing = False
    went = False  # its piece for this turn has gone to the engine
    flying = False  # a task carries it now
    over = False  # sent or dropped
    slot: asyncio.Event = field(default_factory=asyncio.Event)

    def __lt__(self, other: Pending) -> bool:
        return self.order < other.order

    @property
    def policy(self) -> RetryPolicy:
        return self.queue.policy

    def age(self) -> float:
        return self.queue.clock() - self.accepted

    def next_call(self) -> Call | None:
        """Its next piece, once a turn (a photo refused, with no caption, leaves nothing to send)."""
        if self.went:
            return None
        while self.pieces:
            call = piece_call(self.chat_id, self.pieces[0], self.plain)
            if call is not None:
                self.went = True
                return call
            self.pieces.popleft()
        self.queue.finish(self)
        return None

    def slotted(self) -> None:
        self.slot.set()

    def anew(self) -> None:
        pass

    async def sent(self, answer: Mapping[str, object], seconds: float) -> None:
        self.queue.sent += 1
        await self.skip("")

    async def skip(self, why: str) -> None:
        self.pieces.popleft()
        if not self.pieces:
            self.queue.finish(self)

    async def again(self, seconds: float, why: str, *, attempt: bool = False) -> None:
        self.attempts += attempt
        self.not_before = self.queue.clock() + seconds
        if not attempt:
            log.info("reply to chat %s: %s; sent again then", self.chat_id, why)

    async def end(self, outcome: str, why: str) -> None:
        retried = f" (retried {self.attempts} times)" if self.attempts else ""
        self.queue.finish(self, f"{why}{retried}")


@dataclass
class ChatQueue:
    chat_id: int
    waiting: list[Pending] = field(default_factory=list)  # a heap by order
    current: Pending | None = None  # the reply being sent: its pieces stay together
    busy: bool = False
    turns: Counter[int | None] = field(default_factory=Counter)  # replies queued per asker

    def head(self) -> Pending | None:
        return self.current or (self.waiting[0] if self.waiting else None)

    def size(self) -> int:
        return sum(len(p.pieces) for p in self.waiting) + (len(self.current.pieces) if self.current else 0)


class ReplyQueue:
    """Replies for every chat; :meth:`run` sends them until ``stop`` is set."""

    def __init__(self, pacer: Pacer, clock: Callable[[], float] = time.monotonic):
        self.pacer = pacer
        self.clock = clock
        self.policy = RetryPolicy(1.0, MAX_BACKOFF, GIVE_UP_SECONDS, "given up")
        self.chats: dict[int, ChatQueue] = {}  # chats with replies waiting or in flight
        self.engine: Engine | None = None
        self._arrivals = itertools.count()
        self._changed = asyncio.Event()
        self._inflight: set[asyncio.Task] = set()
        self.sent = self.dropped = self.late = 0

    def submit(
        self,
        chat_id: int,
        replies: Sequence[Reply],
        urgency: Urgency,
        user_id: int | None = None,
        done: Callable[[str | None], None] | None = None,
    ) -> None:
        """Queue a command's replies (they stay together, in order); ``done`` is called when the
        last is sent (with None) or the reply is dropped (with why)."""
        if not replies:
            if done is not None:
                done(None)
            return
        chat = self.chats.setdefault(chat_id, ChatQueue(chat_id))
        turn = chat.turns[user_id]
        chat.turns[user_id] += 1
        parts = deque(p for reply in replies for p in split_reply(reply))
        order = (int(urgency), turn, next(self._arrivals))
        pending = Pending(order, user_id, parts, self.clock(), self, chat_id, done=done)
        heapq.heappush(chat.waiting, pending)
        self._changed.set()

    def crowded(self, chat_id: int) -> bool:
        """Whether the chat's queue already takes longer than CROWDED_SECONDS at its pace."""
        chat = self.chats.get(chat_id)
        return chat is not None and chat.size() * self.pacer.spacing(chat_id) * MARGIN > CROWDED_SECONDS

    async def run(self, engine: Engine, stop: asyncio.Event) -> None:
        """Send through ``engine`` until ``stop`` is set."""
        self.engine = engine
        try:
            while not stop.is_set():
                try:
                    await self._dispatch()
                except Exception:  # a bug: log it, keep the replies going
                    log.exception("reply dispatcher failed; going on in a second")
                    await asyncio.sleep(1.0)
        finally:
            for task in list(self._inflight):
                task.cancel()
            unsent = [p for c in self.chats.values() for p in (*c.waiting, c.current) if p is not None]
            if unsent:
                log.warning("%d replies not sent: the bot is stopping", len(unsent))
            for pending in unsent:
                if pending.done is not None:
                    pending.done("the bot is stopping")

    async def _dispatch(self) -> None:
        """Start the next message's send; the next look once it took its slot (or wait for one)."""
        chat, wait = self._next(self.clock())
        if chat is None:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(wait, 1.0))
            return
        chat.busy = True
        if chat.current is None:
            chat.current = heapq.heappop(chat.waiting)
        pending = chat.current
        pending.went, pending.flying = False, True
        pending.slot.clear()
        task = asyncio.create_task(self._carry(chat, pending))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        await pending.slot.wait()  # its overall slot taken, ahead of the broadcast: the next one

    async def _carry(self, chat: ChatQueue, pending: Pending) -> None:
        assert self.engine is not None
        try:
            if not await self.engine.carry(pending):  # not leading now (a lock being regained)
                pending.not_before = self.clock() + 1.0
        except Exception as err:  # a bug: this reply is lost, the others go on
            log.exception("reply to chat %s failed", pending.chat_id)
            self.finish(pending, f"{type(err).__name__}: {err}")
        finally:
            pending.slot.set()
            chat.busy = pending.flying = False
            for c in {chat.chat_id, pending.chat_id}:  # a moved chat's queue is under its new id
                queue = self.chats.get(c)
                if queue is not None and queue.head() is None and not queue.busy:
                    self.chats.pop(c, None)
            self._changed.set()

    def _next(self, now: float) -> tuple[ChatQueue | None, float]:
        """The chat whose first message goes next (cheap first, then by turn and arrival), or
        None and how long until one may be ready."""
        best: ChatQueue | None = None
        soonest = float("inf")
        for chat in self.chats.values():
            head = chat.head()
            if chat.busy or head is None or head.flying:  # (a reply moved while its call is out)
                continue
            ready = max(self.pacer.ready(chat.chat_id), head.not_before)
            if ready > now:
                soonest = min(soonest, ready - now)
            elif best is None or head.order < best.head().order:  # type: ignore[union-attr]
                best = chat
        return best, soonest

    def drop_chat(self, chat_id: int, why: str) -> None:
        """The chat blocked the bot: its queued replies are dropped (one line)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return
        gone = [p for p in (chat.current, *chat.waiting) if p is not None]
        chat.waiting = []
        for pending in gone:
            self.finish(pending, why, quiet=True)
        if not chat.busy:
            del self.chats[chat_id]
        log.warning("replies to chat %s dropped: %s (%d replies)", chat_id, why, len(gone))

    def move_chat(self, old_id: int, new_id: int) -> None:
        """A group became a supergroup: its queue (the reply being sent too) goes to the new id."""
        chat = self.chats.get(old_id)
        if chat is None:
            return
        moved = self.chats.setdefault(new_id, ChatQueue(new_id))
        queued = [p for p in (chat.current, *chat.waiting) if p is not None]
        for pending in queued:
            pending.chat_id = new_id
        if moved.current is None and chat.current is not None:  # its pieces stay together
            moved.current = chat.current
            queued.remove(chat.current)
        moved.waiting = list(heapq.merge(sorted(moved.waiting), sorted(queued)))
        moved.turns.update(chat.turns)
        chat.waiting, chat.current, chat.turns = [], None, Counter()
        if not chat.busy:
            del self.chats[old_id]
        log.info("replies to chat %s go to %s", old_id, new_id)

    def finish(self, pending: Pending, dropped: str | None = None, quiet: bool = False) -> None:
        """The reply is sent, or dropped for ``dropped``: one line for a dropped or late one."""
        if pending.over:
            return
        pending.over = True
        chat = self.chats.get(pending.chat_id) or ChatQueue(pending.chat_id)
        if chat.current is pending:
            chat.current = None
        elif pending in chat.waiting:  # ended while queued (a move put it back in line)
            chat.waiting.remove(pending)
            heapq.heapify(chat.waiting)
        chat.turns[pending.user_id] -= 1
        if chat.turns[pending.user_id] <= 0:
            del chat.turns[pending.user_id]
        took = self.clock() - pending.accepted
        if dropped is not None:
            self.dropped += 1
            if not quiet:
                log.warning("reply to chat %s dropped after %.1f s: %s", chat.chat_id, took, dropped)
        elif took > LATE_SECONDS:
            self.late += 1
            log.warning("reply to chat %s sent late: %.1f s after the command", chat.chat_id, took)
        if pending.done is not None:
            pending.done(dropped)
