"""What Telegram says about a chat, acted on once for everything the bot holds for it.

A chat that blocked the bot (403): its subscriber row is marked blocked, its unsent outbox rows
stop, its queued replies are dropped. A group that became a supergroup (a "migrated" answer, or
Telegram's service message): the subscriber row and its settings, its outbox rows and its queued
replies all take the new id. The database writes are retried while the database refuses them
(:func:`~bot.notify.patience.written`: said once, and once when it takes them again).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial
from typing import Protocol

from bot.notify.patience import Attempts, written
from bot.store.outbox import Outbox
from bot.store.subscribers import Subscribers

log = logging.getLogger("tic_alert.sender")


class QueuedReplies(Protocol):
    def drop_chat(self, chat_id: int, why: str) -> None: ...

    def move_chat(self, old_id: int, new_id: int) -> None: ...


class ChatEvents:
    """Blocked and migrated chats: the subscriber row, the outbox rows and the queued replies."""

    def __init__(
        self,
        subscribers: Subscribers,
        outbox: Outbox | None,
        replies: QueuedReplies | None,
        writes: Attempts,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        self.subscribers, self.outbox, self.replies = subscribers, outbox, replies
        self.writes, self.clock = writes, clock
        self.moved: Callable[[], None] = lambda: None  # rows moved: the sender looks again

    async def blocked(self, chat_id: int, why: str) -> None:
        now = self.clock()
        if self.replies is not None:
            self.replies.drop_chat(chat_id, why)
        await written(partial(self.subscribers.set_blocked, chat_id, True, now), self.writes)
        if self.outbox is not None:
            await written(partial(self.outbox.block_chat, chat_id, now=now, detail=why), self.writes)
        log.info("chat %s blocked the bot: its deliveries and replies stop", chat_id)

    async def migrated(self, old_id: int, new_id: int) -> None:
        await written(partial(self.move_now, old_id, new_id), self.writes)

    def move_now(self, old_id: int, new_id: int) -> None:
        """The move, at once (raises :class:`StoreUnavailable` when the database refuses it:
        :meth:`migrated` tries until it takes it; moving twice changes nothing, a chat "moved"
        to itself too)."""
        if old_id == new_id:
            return
        if self.replies is not None:
            self.replies.move_chat(old_id, new_id)
        self.subscribers.migrate(old_id, new_id, self.clock())
        if self.outbox is not None:
            self.outbox.move_chat(old_id, to=new_id)
        log.info("chat %s moved to %s: its settings, deliveries and replies go there", old_id, new_id)
        self.moved()
