"""The poller's state: file vintages, releases and their contents, a poll log.

Every multi-row change is one transaction, so a crash leaves
either the old state or the new one. Writes are keyed (a file's vintage by its hash, a release
by its month, an operator event by its key), so replaying a poll adds nothing: polling the same
release 100 times, or restarting the poller, records one release.
Times are ISO 8601 strings in UTC; months are ``YYYY-MM``.
"""

from __future__ import annotations

import datetime as dt
import json
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from bot.errors import StoreError
from bot.store.database import Database
from bot.store.db import connect, from_iso, iso


class Logged(StrEnum):
    """What the poll log records of one request; the values are what its ``outcome`` column holds."""

    NOT_MODIFIED = "not_modified"  # 304: the copy we hold is current
    UNCHANGED = "unchanged"  # 200 with the bytes we hold
    CHANGED = "changed"  # a new copy of a file (kept)
    NEW_RELEASE = "new_release"
    REVISION = "revision"  # the headline file changed, same release month
    STALE = "stale"  # older than what we hold: ignored
    COMPLETE = "complete"  # a companion file shows the release
    ERROR = "error"


@dataclass(frozen=True)
class PollEntry:
    """One row of the poll log."""

    at: dt.datetime
    file: str
    outcome: Logged
    status: int | None
    detail: str


@dataclass(frozen=True)
class OperatorRecord:
    """An operator event as the store keeps it."""

    at: dt.datetime
    kind: str
    key: str
    detail: str


@dataclass(frozen=True)
class Held:
    """The copy of a file we hold: its vintage row and the validators of the answer that brought it."""

    file: str
    vintage_id: int
    sha256: str
    vintage: str
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True)
class ReleaseRecord:
    month: str
    months: tuple[str, ...]
    first_seen: dt.datetime
    baseline: bool
    gather_until: dt.datetime
    closed_at: dt.datetime | None
    handed_over: str | None


@dataclass(frozen=True)
class ReleaseFile:
    file: str
    before_id: int | None
    vintage_id: int | None
    complete_at: dt.datetime | None


class Store:
    """The poller's tables in the database at ``target`` (a SQLite path, ":memory:" for tests, or
    a PostgreSQL URL: see :mod:`bot.store.db`)."""

    def __init__(self, target: str | Path):
        self.conn: Database = connect(target)

    def close(self) -> None:
        self.conn.close()

    # --- files ---------------------------------------------------------------------------

    def held(self, file: str) -> Held | None:
        row = self.conn.execute(
            "SELECT c.file, v.id, v.sha256, v.vintage, c.etag, c.last_modified "
            "FROM current c JOIN vintages v ON v.id = c.vintage_id WHERE c.file = ?",
            (file,),
        ).fetchone()
        return Held(*row) if row else None

    def body(self, vintage_id: int) -> bytes:
        row = self.conn.execute("SELECT body FROM vintages WHERE id = ?", (vintage_id,)).fetchone()
        if row is None:
            raise StoreError(f"no vintage with id {vintage_id}")
        return bytes(row[0])

    def vintage_of(self, vintage_id: int) -> str:
        return str(
            self.conn.execute("SELECT vintage FROM vintages WHERE id = ?", (vintage_id,)).fetchone()[0]
        )

    def add_vintage(
        self,
        file: str,
        body: bytes,
        sha256: str,
        vintage: str,
        etag: str | None,
        last_modified: str | None,
        now: dt.datetime,
    ) -> int:
        """Keep a copy (once per distinct body); returns its id. Call inside :meth:`transaction`."""
        self.conn.execute(
            "INSERT INTO vintages (file, sha256, vintage, etag, last_modified, first_seen, size, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (file, sha256, vintage, etag, last_modified, iso(now), len(body), body),
        )
        row = self.conn.execute("SELECT id FROM vintages WHERE file = ? AND sha256 = ?", (file, sha256))
        return int(row.fetchone()[0])

    def set_held(
        self, file: str, vintage_id: int, etag: str | None, last_modified: str | None, now: dt.datetime
    ) -> None:
        self.conn.execute(
            "INSERT INTO current (file, vintage_id, etag, last_modified, checked_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (file) DO UPDATE SET vintage_id = excluded.vintage_id, etag = excluded.etag,"
            " last_modified = excluded.last_modified, checked_at = excluded.checked_at",
            (file, vintage_id, etag, last_modified, iso(now)),
        )

    def held_bodies(self) -> dict[str, bytes]:
        """The body of every file we hold, by name (the input of a panel)."""
        rows = self.conn.execute(
            "SELECT c.file, v.body FROM current c JOIN vintages v ON v.id = c.vintage_id"
        )
        return {name: bytes(body) for name, body in rows}

    def count_vintages(self, file: str) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM vintages WHERE file = ?", (file,)).fetchone()[0])

    # --- releases ------------------------------------------------------------------------

    def latest_release(self) -> ReleaseRecord | None:
        row = self.conn.execute(
            f"SELECT {_RELEASE_COLS} FROM releases ORDER BY month DESC LIMIT 1"
        ).fetchone()
        return _release(row) if row else None

    def release(self, month: str) -> ReleaseRecord | None:
        row = self.conn.execute(f"SELECT {_RELEASE_COLS} FROM releases WHERE month = ?", (month,)).fetchone()
        return _release(row) if row else None

    def releases(self) -> list[ReleaseRecord]:
        return [
            _release(r) for r in self.conn.execute(f"SELECT {_RELEASE_COLS} FROM releases ORDER BY month")
        ]

    def open_releases(self) -> list[ReleaseRecord]:
        rows = self.conn.execute(
            f"SELECT {_RELEASE_COLS} FROM releases WHERE closed_at IS NULL ORDER BY month"
        )
        return [_release(r) for r in rows]

    def add_release(
        self,
        month: str,
        months: tuple[str, ...],
        headline_id: int,
        baseline: bool,
        gather_until: dt.datetime,
        companions: dict[str, int | None],
        now: dt.datetime,
    ) -> bool:
        """Record a release once (keyed by month); False when it was already recorded."""
        cur = self.conn.execute(
            "INSERT INTO releases (month, months, first_seen, headline_id, baseline, gather_until)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (month, json.dumps(list(months)), iso(now), headline_id, int(baseline), iso(gather_until)),
        )
        if cur.rowcount == 0:
            return False
        self.conn.executemany(
            "INSERT INTO release_files (month, file, before_id) VALUES (?, ?, ?)",
            [(month, f, before) for f, before in companions.items()],
        )
        return True

    def files_of_release(self, month: str) -> list[ReleaseFile]:
        rows = self.conn.execute(
            "SELECT file, before_id, vintage_id, complete_at FROM release_files"
            " WHERE month = ? ORDER BY complete_at IS NULL, complete_at, file",
            (month,),
        )
        return [ReleaseFile(f, b, v, from_iso(c) if c else None) for f, b, v, c in rows]

    def file_complete(self, month: str, file: str, vintage_id: int, now: dt.datetime) -> None:
        self.conn.execute(
            "UPDATE release_files SET vintage_id = ?, complete_at = ? WHERE month = ? AND file = ?"
            " AND complete_at IS NULL",
            (vintage_id, iso(now), month, file),
        )

    def close_release(self, month: str, now: dt.datetime) -> None:
        self.conn.execute(
            "UPDATE releases SET closed_at = ? WHERE month = ? AND closed_at IS NULL", (iso(now), month)
        )

    def claim_handover(self, month: str, before: str | None, contents: str) -> bool:
        """Mark ``contents`` handed over if the mark is still ``before`` (compare-and-set).

        Call inside :meth:`transaction`, with the hand-over's own writes."""
        mark, args = ("IS NULL", ()) if before is None else ("= ?", (before,))
        cur = self.conn.execute(
            f"UPDATE releases SET handed_over = ? WHERE month = ? AND handed_over {mark}",
            (contents, month, *args),
        )
        return cur.rowcount == 1

    # --- logs ----------------------------------------------------------------------------

    def log_poll(
        self,
        now: dt.datetime,
        file: str,
        outcome: Logged,
        *,
        status: int | None = None,
        size: int = 0,
        detail: str = "",
    ) -> None:
        self.conn.execute(
            "INSERT INTO poll_log (at, file, outcome, status, bytes, detail) VALUES (?, ?, ?, ?, ?, ?)",
            (iso(now), file, str(outcome), status, size, detail),
        )

    def poll_log(self, file: str | None = None, *, limit: int = 1000) -> list[PollEntry]:
        """The newest poll log entries first (of one file, or all)."""
        where, args = ("WHERE file = ?", (file,)) if file else ("", ())
        rows = self.conn.execute(
            f"SELECT at, file, outcome, status, detail FROM poll_log {where} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        )
        return [PollEntry(from_iso(at), f, Logged(o), status, detail) for at, f, o, status, detail in rows]

    def trailing_errors(self, file: str) -> tuple[int, str | None]:
        """How many of the newest poll log entries for ``file`` are errors, and when that run began
        (as stored: ISO 8601 text, part of the operator event's key)."""
        count, first, below = 0, None, None
        while True:  # newest first, a page at a time: a streak is short, the log is long
            older, args = ("AND id < ?", (below,)) if below is not None else ("", ())
            rows = self.conn.execute(
                f"SELECT id, at, outcome FROM poll_log WHERE file = ? {older} ORDER BY id DESC LIMIT 100",
                (file, *args),
            ).fetchall()
            for row_id, at, outcome in rows:
                if outcome != Logged.ERROR:
                    return count, first
                count, first, below = count + 1, at, row_id
            if len(rows) < 100:
                return count, first

    def add_operator_event(self, kind: str, key: str, detail: str, now: dt.datetime) -> bool:
        """Record an operator event once per key; False when it was already recorded."""
        cur = self.conn.execute(
            "INSERT INTO operator_events (at, kind, key, detail) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (iso(now), kind, key, detail),
        )
        return cur.rowcount == 1

    def operator_events(self) -> list[OperatorRecord]:
        """Every operator event, oldest first."""
        rows = self.conn.execute("SELECT at, kind, key, detail FROM operator_events ORDER BY id")
        return [OperatorRecord(from_iso(at), kind, key, detail) for at, kind, key, detail in rows]

    def transaction(self) -> AbstractContextManager[None]:
        """``with store.transaction():`` commits the block's writes together, or none of them."""
        return self.conn.transaction()


_RELEASE_COLS = "month, months, first_seen, baseline, gather_until, closed_at, handed_over"


def _release(row: tuple) -> ReleaseRecord:
    month, months, first_seen, baseline, gather_until, closed_at, handed_over = row
    return ReleaseRecord(
        month,
        tuple(json.loads(months)),
        from_iso(first_seen),
        bool(baseline),
        from_iso(gather_until),
        from_iso(closed_at) if closed_at else None,
        handed_over,
    )
