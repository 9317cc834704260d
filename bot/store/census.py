"""The database's figures for /metrics and /readyz, read at scrape time: subscribers, the outbox
queue, the latest release's deliveries by state and kind. Read on an own read-only connection,
so a scrape never waits on, or writes to, the process's own connections."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from bot.store.db import open_readonly
from bot.store.outbox import DeliveryState


@dataclass(frozen=True)
class Census:
    subscribers: dict[str, int]  # active, stopped, blocked
    queue: int  # outbox rows pending or being sent (all releases)
    release: str | None  # the latest release with deliveries
    deliveries: dict[tuple[str, str], int] = field(default_factory=dict)  # (state, kind) → rows of it
    newest_release: str | None = None  # the newest release the poller recorded


def census(path: str) -> Census:
    conn = open_readonly(path)
    try:
        return count(conn)
    finally:
        conn.close()


def count(conn: sqlite3.Connection) -> Census:
    active, stopped, blocked = conn.execute(
        "SELECT SUM(subscribed = 1 AND blocked = 0), SUM(subscribed = 0 AND blocked = 0), SUM(blocked = 1)"
        " FROM chats"
    ).fetchone()
    queue = conn.execute("SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'sending')").fetchone()[
        0
    ]
    (release,) = conn.execute("SELECT MAX(release) FROM deliveries WHERE kind != 'operator'").fetchone()
    rows = conn.execute(
        "SELECT state, kind, COUNT(*) FROM deliveries WHERE release = ? GROUP BY state, kind", (release,)
    )
    states = {s.value for s in DeliveryState}
    deliveries = {(state, kind): int(n) for state, kind, n in rows if state in states}
    (newest,) = conn.execute("SELECT MAX(month) FROM releases").fetchone()
    return Census(
        {"active": int(active or 0), "stopped": int(stopped or 0), "blocked": int(blocked or 0)},
        int(queue),
        release,
        deliveries,
        newest,
    )
