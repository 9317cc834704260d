"""Replies queued and paced like deliveries: a reply that was accepted is sent, in time, without 429s.

Each chat has a queue; its messages go one at a time, in the order (urgency, the asker's turn,
arrival): a refusal or a settings confirmation before a read, a read before a heavy answer (a
chart, a history, the release); in a group, a person who asked five things waits behind one who
asked one. One dispatcher hands the next overall slot of the shared :class:`Pacer` (the broadcast
takes its slots from it too) to the first message of the chats whose own slot has come, cheap
first, so Telegram's limits (30/s, 1/s a private chat, 20/min a group) are kept, not discovered.

What Telegram answers is classified as for deliveries (:func:`classify`): 429 pauses every send
and the same message goes again; a network error or a 5xx is retried with backoff until
``GIVE_UP_SECONDS`` after the command; a chat that blocked the bot loses its queue; a group that
became a supergroup keeps its queue under the new id; HTML Telegram refuses goes as plain text;
a refusal for good drops the reply. Each dropped reply, and each sent later than
``LATE_SECONDS`` after the command, is one log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import heapq
import itertools
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum

from telegram import Bot
from telegram.error import TelegramError

from bot.errors import StoreError
from bot.notify.outbound.pacer import MARGIN, Pacer
from bot.notify.outbound.pieces import Piece, PieceSender, split_reply
from bot.notify.outbound.verdicts import Action, classify
from bot.notify.people.chatbot import Reply
from bot.store.subscribers import Subscribers

log = logging.getLogger("tic_alert.replies")
LATE_SECONDS = 30.0  # a reply sent later than this after its command is logged as late
GIVE_UP_SECONDS = 600.0  # network errors are retried this long after the command, then dropped
CROWDED_SECONDS = 30.0  # a chat whose queue takes longer than this at its pace takes no more reads


class Urgency(IntEnum):
    NOW = 0  # refusals and settings confirmations: short, and someone waits to know
    READ = 1  # cheap answers
    HEAVY = 2  # charts, histories, the release


@dataclass
class Pending:
    """One reply waiting in its chat's queue."""

    order: tuple[int, int, int]  # urgency, the asker's turn, arrival
    user_id: int | None
    pieces: deque[Piece]
    accepted: float
    not_before: float = 0.0  # after a network error: its backoff
    attempts: int = 0
    plain: bool = False  # Telegram refused its HTML or photo: plain text from now on
    done: Callable[[str | None], None] | None = None  # told once it is sent (None) or dropped (why)

    def __lt__(self, other: Pending) -> bool:
        return self.order < other.order


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

    def __init__(
        self,
        pacer: Pacer,
        subscribers: Subscribers,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        self.pacer = pacer
        self.subscribers = subscribers
        self.clock = clock
        self.now = now
        self.chats: dict[int, ChatQueue] = {}  # chats with replies waiting or in flight
        self.sender: PieceSender | None = None
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
        heapq.heappush(chat.waiting, Pending(order, user_id, parts, self.clock(), done=done))
        self._changed.set()

    def crowded(self, chat_id: int) -> bool:
        """Whether the chat's queue already takes longer than CROWDED_SECONDS at its pace."""
        chat = self.chats.get(chat_id)
        return chat is not None and chat.size() * self.pacer.spacing(chat_id) * MARGIN > CROWDED_SECONDS

    async def run(self, bot: Bot, stop: asyncio.Event) -> None:
        self.sender = PieceSender(bot)
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
        """Start the next message's send once it has its slot, or wait for one to be due."""
        chat, wait = self._next(self.clock())
        if chat is None:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(wait, 1.0))
            return
        chat.busy = True
        try:
            await self.pacer.wait(chat.chat_id, first=True)  # the overall slot, ahead of the broadcast
        except BaseException:
            chat.busy = False
            raise
        task = asyncio.create_task(self._send_next(chat))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    def _next(self, now: float) -> tuple[ChatQueue | None, float]:
        """The chat whose first message goes next (cheap first, then by turn and arrival), or
        None and how long until one may be ready."""
        best: ChatQueue | None = None
        soonest = float("inf")
        for chat in self.chats.values():
            head = chat.head()
            if chat.busy or head is None:
                continue
            ready = max(self.pacer.ready(chat.chat_id), head.not_before)
            if ready > now:
                soonest = min(soonest, ready - now)
            elif best is None or head.order < best.head().order:  # type: ignore[union-attr]
                best = chat
        return best, soonest

    async def _send_next(self, chat: ChatQueue) -> None:
        if chat.current is None:
            chat.current = heapq.heappop(chat.waiting)
        pending = chat.current
        try:
            assert self.sender is not None
            await self.sender.send(chat.chat_id, pending.pieces[0], plain=pending.plain)
        except TelegramError as err:
            self._after(chat, pending, err)
        except Exception as err:  # a bug: this reply is lost, the others go on
            self._finish(chat, pending, f"{type(err).__name__}: {err}")
        else:
            self.pacer.sent(chat.chat_id)
            self.sent += 1
            pending.pieces.popleft()
            if not pending.pieces:
                self._finish(chat, pending)
        finally:
            chat.busy = False
            if chat.head() is None:
                self.chats.pop(chat.chat_id, None)
            self._changed.set()

    def _after(self, chat: ChatQueue, pending: Pending, err: TelegramError) -> None:
        """What Telegram's answer means for the reply (the same policy as the deliveries')."""
        verdict = classify(err)
        if verdict.action is Action.WAIT:
            self.pacer.pause(verdict.seconds)
            log.info("reply to chat %s: %s; sent again then", chat.chat_id, verdict.detail)
        elif verdict.action is Action.RETRY:
            pending.attempts += 1
            if self.clock() - pending.accepted > GIVE_UP_SECONDS:
                self._finish(chat, pending, f"{verdict.detail} (retried {pending.attempts} times)")
            else:
                pending.not_before = self.clock() + min(30.0, 2.0 ** (pending.attempts - 1))
        elif verdict.action is Action.BLOCKED:
            dropped = 1 + len(chat.waiting)
            for other in chat.waiting:
                if other.done is not None:
                    other.done(verdict.detail)
            chat.waiting.clear()
            self._finish(chat, pending, f"{verdict.detail} ({dropped} replies)")
            with contextlib.suppress(StoreError):  # a full disk: the next send finds out again
                self.subscribers.set_blocked(chat.chat_id, True, self.now())
        elif verdict.action is Action.MIGRATED and verdict.chat_id is not None:
            log.info("replies to chat %s go to %s: %s", chat.chat_id, verdict.chat_id, verdict.detail)
            moved = self.chats.setdefault(verdict.chat_id, ChatQueue(verdict.chat_id))
            moved.waiting = list(heapq.merge(sorted(moved.waiting), sorted([pending, *chat.waiting])))
            moved.turns.update(chat.turns)
            chat.waiting, chat.current, chat.turns = [], None, Counter()
        elif verdict.action is Action.PLAIN and not pending.plain:
            pending.plain = True
            log.info("reply to chat %s refused (%s): plain text next", chat.chat_id, verdict.detail)
        elif verdict.action in (Action.UNCHANGED, Action.GONE):
            pending.pieces.popleft()
            if not pending.pieces:
                self._finish(chat, pending)
        else:
            self._finish(chat, pending, verdict.detail)

    def _finish(self, chat: ChatQueue, pending: Pending, dropped: str | None = None) -> None:
        """The reply is sent, or dropped for ``dropped``: one line for a dropped or late one."""
        if chat.current is pending:
            chat.current = None
        chat.turns[pending.user_id] -= 1
        if chat.turns[pending.user_id] <= 0:
            del chat.turns[pending.user_id]
        took = self.clock() - pending.accepted
        if dropped is not None:
            self.dropped += 1
            log.warning("reply to chat %s dropped after %.1f s: %s", chat.chat_id, took, dropped)
        elif took > LATE_SECONDS:
            self.late += 1
            log.warning("reply to chat %s sent late: %.1f s after the command", chat.chat_id, took)
        if pending.done is not None:
            pending.done(dropped)
