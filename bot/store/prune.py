"""Keeping the database small: only the newest releases' deliveries, poll log and file versions.

Per release at 10,000 subscribers the outbox grows by megabytes, and every copy of every file the
Treasury ever served is kept. :func:`prune` keeps the ``keep`` newest releases whole and, always,
what the next release needs: the copy of each file held now (the poller compares the next answer
with it, conditional GETs use its validators), the previous release's files (the newest release's
companions were compared with them), the charts and deliveries of the kept releases (the bot edits
the last alert when a companion arrives), and operator events (they are keyed: dropping one
would raise it again). Operator rows and /testalert rows go once finished and older than the
oldest kept release. :class:`DailyPrune` runs it once a day in the running service.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.errors import StoreError
from bot.store.database import Database
from bot.store.outbox import OPERATOR_RELEASE, TEST_RELEASE

log = logging.getLogger("tic_alert.store")
DAY = 86_400.0


@dataclass(frozen=True)
class Pruned:
    releases: int = 0
    deliveries: int = 0
    charts: int = 0
    polls: int = 0
    vintages: int = 0
    vintage_bytes: int = 0

    def describe(self) -> str:
        return (
            f"removed {self.releases} releases, {self.deliveries} deliveries, {self.charts} charts,"
            f" {self.polls} poll log entries, {self.vintages} file versions ({self.vintage_bytes:,} bytes)"
        )


def prune(conn: Database, keep: int) -> Pruned:
    """Keep the ``keep`` (≥ 1) newest releases and what the next one needs; one transaction."""
    if keep < 1:
        raise StoreError(f"prune: keep at least 1 release, found {keep}")
    months = [m for (m,) in conn.execute("SELECT month FROM releases ORDER BY month DESC")]
    if len(months) <= keep:
        return Pruned()
    oldest_kept, previous = months[keep - 1], months[keep]
    (since,) = conn.execute("SELECT first_seen FROM releases WHERE month = ?", (oldest_kept,)).fetchone()
    with conn.transaction():
        return _delete(conn, oldest_kept, previous, since)


def _delete(conn: Database, oldest_kept: str, previous: str, since: str) -> Pruned:
    run = conn.execute
    # operator rows, test alerts and rehearsals sit under their own release names ('op', 'test',
    # 'rehearsal:…', which sort after every month): they go by age, once finished
    apart = f"(release IN ('{OPERATOR_RELEASE}', '{TEST_RELEASE}') OR kind = 'test')"
    deliveries = run(
        f"DELETE FROM deliveries WHERE (NOT {apart} AND release < ?)"
        f" OR ({apart} AND created_at < ? AND state IN ('sent', 'failed', 'blocked'))",
        (oldest_kept, since),
    ).rowcount
    charts = run(
        "DELETE FROM charts WHERE (substr(key, 1, 7) < ? OR substr(key, 1, 10) = 'rehearsal:')"
        " AND id NOT IN (SELECT chart_id FROM deliveries WHERE chart_id IS NOT NULL)",
        (oldest_kept,),
    ).rowcount
    polls = run("DELETE FROM poll_log WHERE at < ?", (since,)).rowcount
    # the previous release stays (its row and its files); older rows go with their file lists
    run("DELETE FROM release_files WHERE month < ?", (previous,))
    releases = run("DELETE FROM releases WHERE month < ?", (previous,)).rowcount
    needed = (
        "SELECT vintage_id FROM current UNION SELECT headline_id FROM releases"
        " UNION SELECT before_id FROM release_files WHERE before_id IS NOT NULL"
        " UNION SELECT vintage_id FROM release_files WHERE vintage_id IS NOT NULL"
    )
    (freed,) = run(f"SELECT COALESCE(SUM(size), 0) FROM vintages WHERE id NOT IN ({needed})").fetchone()
    vintages = run(f"DELETE FROM vintages WHERE id NOT IN ({needed})").rowcount
    return Pruned(releases, deliveries, charts, polls, vintages, int(freed))


def compact(conn: Database) -> tuple[int, int]:
    """Give the space pruning freed back to the disk (SQLite: VACUUM, then the WAL truncated;
    PostgreSQL: VACUUM FULL, which locks each table while it rewrites it). Bytes before and after."""
    before = conn.dialect.size(conn)
    for statement in conn.dialect.compact:
        conn.execute(statement)
    return before, conn.dialect.size(conn)


class DailyPrune:
    """``tick()`` on every poller tick: prunes to ``keep`` releases at most once a ``every`` seconds."""

    def __init__(
        self,
        conn: Database,
        keep: int,
        every: float = DAY,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.conn, self.keep, self.every, self.clock = conn, keep, every, clock
        self.last: float | None = None

    def tick(self) -> Pruned | None:
        now = self.clock()
        if self.keep < 1 or (self.last is not None and now - self.last < self.every):
            return None
        self.last = now
        try:
            done = prune(self.conn, self.keep)
        except StoreError as err:  # busy or broken: the poller goes on, tried tomorrow
            log.warning("daily prune failed: %s", err)
            return None
        if done != Pruned():
            log.info("daily prune to %d releases: %s", self.keep, done.describe())
        return done
