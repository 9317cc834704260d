"""The database's figures for /metrics and /readyz, read at scrape time: subscribers, the outbox
queue, the latest release's deliveries by state and kind, the newest release recorded. Read on an
own read-only connection, so a scrape never waits on, or writes to, the process's own
connections; each figure is the store class's own (:meth:`Subscribers.counts`,
:meth:`Outbox.unsent`, :meth:`Outbox.latest_release`, :meth:`Outbox.tally`), so /metrics says
what /stats and ``tic-alert outbox`` say."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.store.db import open_readonly
from bot.store.outbox import Outbox
from bot.store.subscribers import Subscribers


@dataclass(frozen=True)
class Census:
    subscribers: dict[str, int]  # active, stopped, blocked
    queue: int  # rows of releases and test alerts not yet with Telegram (Outbox.unsent)
    release: str | None  # the latest release with deliveries (test alerts and operator rows aside)
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, kind) → rows of it
    newest: str | None = None  # the newest release the poller recorded (YYYY-MM), whatever its deliveries


def census(path: str) -> Census:
    conn = open_readonly(path)
    try:
        outbox = Outbox(conn)
        release = outbox.latest_release()
        deliveries = outbox.tally(release) if release else {}
        (newest,) = conn.execute("SELECT MAX(month) FROM releases").fetchone()
        return Census(Subscribers(conn).counts(), outbox.unsent(), release, deliveries, newest)
    finally:
        conn.close()
