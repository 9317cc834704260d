"""A release day in miniature: the fake Treasury, the fake Bot API, the real bot and its sender,
and a poller handing releases to the dispatcher, all on one database (a SQLite file, or the
PostgreSQL database ``db`` names)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot_helpers import RunningBot
from poll_helpers import SimClock, et, make_poller
from telegram_server import TelegramServer
from treasury_server import FakeTreasury
from waits import wait_until

from bot.config import load_settings
from bot.data.load import panel_from_bytes
from bot.notify.release.dispatch import Dispatcher
from bot.notify.runtime import operator_sink
from bot.store.outbox import Outbox
from bot.store.state import Store
from bot.store.subscribers import Subscribers

SETTINGS = load_settings(env={})


class Day:
    """The pieces of one simulated release day, for a test to drive."""

    def __init__(
        self,
        treasury: FakeTreasury,
        telegram: TelegramServer,
        bot: RunningBot,
        store: Store,
        clock: SimClock,
        channels: tuple[int, ...] = (),
        admins: tuple[int, ...] = (),
    ):
        self.treasury, self.telegram, self.bot, self.store, self.clock = treasury, telegram, bot, store, clock
        # the rows are stamped by the wall clock, as the sender (real time) reads them: a row's
        # deadline counts from then
        self.dispatcher = Dispatcher(store.conn, rules=bot.rules, groups=SETTINGS.groups, channels=channels)
        self.poller, _ = make_poller(
            store,
            treasury.url,
            clock,
            build_panel=lambda files: panel_from_bytes(files, SETTINGS.groups),
            handover=self.dispatcher,
        )
        self.poller.committed = bot.runtime.wake
        self.poller.operator = operator_sink(store, admins, bot.runtime.wake)
        self.subscribers = Subscribers(store.conn)
        self.outbox = Outbox(store.conn)

    def subscribe(self, chat_id: int, chat_type: str = "private", **rules: float | int | None) -> None:
        now = self.clock()
        self.subscribers.touch(chat_id, chat_type, "", now)
        self.subscribers.set_subscribed(chat_id, True, now)
        for rule, value in rules.items():
            rid = rule.replace("_", "-")
            if value is None:
                self.subscribers.set_rule(chat_id, rid, enabled=0)
            else:
                self.subscribers.set_rule(chat_id, rid, threshold=float(value))

    def poll(self, seconds: float = 15) -> str:
        self.clock.advance(seconds)
        return self.poller.poll().message

    def settle(self, timeout: float = 15) -> dict[str, int]:
        """Wait until the outbox has nothing pending or in flight; its counts."""

        def drained() -> dict[str, int] | None:
            counts = self.outbox.counts()
            return counts if counts["pending"] == 0 and counts["sending"] == 0 else None

        try:
            return wait_until(drained, timeout, every=0.05)
        except TimeoutError:
            raise TimeoutError(f"outbox not drained: {self.outbox.counts()}") from None


@contextmanager
def release_day(
    tmp: Path,
    start: dt.datetime | None = None,
    db: str | None = None,
    channels: tuple[int, ...] = (),
    admins: tuple[int, ...] = (),
    **bot_kw,
) -> Iterator[Day]:
    clock = SimClock(start or et(2026, 6, 18, 15, 58))
    target = db or str(tmp / "tic.db")
    with FakeTreasury(clock=clock.epoch, hang_seconds=0.5) as treasury, TelegramServer() as telegram:
        store = Store(target)
        try:
            with RunningBot(telegram, target, **bot_kw) as bot:
                yield Day(treasury, telegram, bot, store, clock, channels, admins)
        finally:
            store.close()
