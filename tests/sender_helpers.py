"""The sender alone against the fake Bot API: rows queued straight into an outbox, drained by a
real python-telegram-bot client, until a condition holds."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Bot
from waits import await_until

from bot.notify.outbound.scheduler import Sender
from bot.notify.outbound.transport import AiohttpRequest
from bot.notify.settings import TelegramSettings
from bot.store.database import Database
from bot.store.db import connect
from bot.store.outbox import DeliveryKind, DeliveryState, NewDelivery, Outbox
from bot.store.subscribers import Subscribers

TOKEN = "123456:TEST-token-that-must-never-be-logged"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big") + b"..."
ADMIN = 900


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Desk:
    """A database (in memory unless given) with chats and rows, and the sender's settings."""

    server: Any  # tests.telegram_server.TelegramServer
    conn: Database = field(default_factory=lambda: connect(":memory:"))
    settings: TelegramSettings | None = None

    def __post_init__(self) -> None:
        self.outbox = Outbox(self.conn)
        self.subscribers = Subscribers(self.conn)
        if self.settings is None:
            self.settings = TelegramSettings(
                api_url=self.server.base_url, admins=(ADMIN,), request_timeout_seconds=2.0
            )
        self._chart: int | None = None
        self.probes_fail: list[tuple] = []  # fail_next arguments for getMe once the bot has started
        self.looks = 0  # the sender's looks for due rows (each round's, after its recovery)
        self.refused = 0  # its claims the database refused
        self._watch_the_sender()

    def _watch_the_sender(self) -> None:
        """Count the sender's looks for due rows and its refused claims: what a test waits for
        (``await_until(lambda: desk.looks)``) instead of sleeping a guess."""
        due, claim_many = self.outbox.due, self.outbox.claim_many

        def counted_due(*args: Any, **kwargs: Any) -> Any:
            self.looks += 1
            return due(*args, **kwargs)

        def counted_claim(*args: Any, **kwargs: Any) -> Any:
            try:
                return claim_many(*args, **kwargs)
            except Exception:
                self.refused += 1
                raise

        self.outbox.due = counted_due  # type: ignore[method-assign]
        self.outbox.claim_many = counted_claim  # type: ignore[method-assign]

    def chat(self, chat_id: int) -> None:
        now = utc_now()
        self.subscribers.touch(chat_id, "private" if chat_id > 0 else "group", "", now)
        self.subscribers.set_subscribed(chat_id, True, now)

    def alert(self, chat_id: int, text: str = "alert", when: dt.datetime | None = None) -> int:
        """An alert row (the chart and its caption) for ``chat_id``; its id."""
        with self.conn:
            if self._chart is None:
                self._chart = self.outbox.add_chart(key="2026-04:chart", png=PNG)
            row = NewDelivery(
                f"2026-04:{chat_id}:0",
                "2026-04",
                chat_id,
                DeliveryKind.ALERT,
                (f"<b>{text}</b>",),
                chart_id=self._chart,
            )
            self.outbox.add(row, now=when or utc_now())
        return self.id_of(row.key)

    def row(
        self, chat_id: int, kind: DeliveryKind, text: str, edition: int, edit_of: int | None = None
    ) -> int:
        """A text row (a follow-up, an edit of ``edit_of``) for ``chat_id``; its id."""
        row = NewDelivery(f"2026-04:{chat_id}:{edition}", "2026-04", chat_id, kind, (text,), edit_of=edit_of)
        with self.conn:
            self.outbox.add(row, now=utc_now())
        return self.id_of(row.key)

    def id_of(self, key: str) -> int:
        return next(d.id for d in self.outbox.of_release("2026-04") if d.key == key)

    def state(self, delivery_id: int) -> DeliveryState:
        row = self.outbox.get(delivery_id)
        assert row is not None
        return row.state

    def drained(self) -> bool:
        counts = self.outbox.counts()
        return counts["pending"] == 0 and counts["sending"] == 0

    def run(
        self,
        until: Callable[[], bool] | None = None,
        timeout: float = 20.0,
        during: Callable[[Sender], Awaitable[None]] | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
    ) -> Sender:
        """Run the sender until ``until()`` (default: nothing left to send), then stop it."""
        return asyncio.run(self._run(until or self.drained, timeout, during, clock))

    async def _run(
        self,
        until: Callable[[], bool],
        timeout: float,
        during: Callable[[Sender], Awaitable[None]] | None,
        clock: Callable[[], dt.datetime],
    ) -> Sender:
        assert self.settings is not None
        seconds = self.settings.request_timeout_seconds
        request = AiohttpRequest(timeout=seconds)  # as the bot's Application has it
        async with Bot(TOKEN, base_url=self.server.base_url, request=request) as bot:  # getMe once
            for args in self.probes_fail:
                self.server.fail_next("getMe", *args)
            sender = Sender(bot, self.outbox, self.subscribers, self.settings, clock=clock)
            sender.late_after = 1.0
            stop = asyncio.Event()
            task = asyncio.create_task(sender.run(stop))
            if during is not None:
                await during(sender)
            try:
                await await_until(until, timeout, what="the sender's goal")
            except TimeoutError:
                stop.set()
                sender.wake()
                await task
                counts = self.outbox.counts()
                raise TimeoutError(f"the sender did not get there in {timeout} s: {counts}") from None
            stop.set()
            sender.wake()  # an idle round sees the stop at once, not after its 1 s look
            await task
        return sender
