"""The connection to the state database: one :class:`Database` API over SQLite and PostgreSQL.

Every store class (:class:`~bot.store.state.Store`, :class:`~bot.store.outbox.Outbox`,
:class:`~bot.store.subscribers.Subscribers`, prune, census) runs its statements through this:

* ``db.execute(sql, args)`` → a :class:`Result` (rows fetched, ``rowcount``); one statement,
  committed on its own unless the calling thread has a transaction open;
* ``db.executemany(sql, rows)`` → rows changed, in one transaction;
* ``with db.transaction():`` (or ``with db:``) → the block's statements commit together or not at
  all; a block inside another joins it. On SQLite it holds the write lock from its start
  (``BEGIN IMMEDIATE``); on PostgreSQL it is a transaction (read committed) on one connection;
* ``db.session()`` → a connection of its own for as long as the block lasts (on PostgreSQL, out of
  the pool: what holds a session-level advisory lock, e.g. a leader's);
* ``db.before_migration(version)``: a copy before a migration (SQLite's file only).

Statements are written with ``?`` placeholders in the SQL both databases speak; the
:mod:`~bot.store.dialect` holds the rest. Errors come out as :class:`~bot.errors.StoreError` (or
:class:`~bot.errors.StoreUnavailable`, with a reason): callers never import sqlite3 or psycopg.

SQLite (:class:`SQLiteDatabase`, here): one connection per Database (a process's bot and its
poller each open their own), used by one thread at a time (a lock; a transaction holds it to its
end). PostgreSQL (:class:`~bot.store.postgres.PostgresDatabase`): a psycopg pool; each statement
borrows a connection, a transaction keeps one for its thread until it ends.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from bot.store.dialect import SQLITE, Dialect

log = logging.getLogger("tic_alert.store")


class Result:
    """A statement's rows (all fetched) and how many rows it changed."""

    __slots__ = ("rowcount", "rows")

    def __init__(self, rows: list[tuple], rowcount: int):
        self.rows, self.rowcount = rows, rowcount

    def fetchone(self) -> tuple | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[tuple]:
        return self.rows

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.rows)


class Database:
    """The state database (see the module's doc); :func:`bot.store.db.connect` opens one."""

    dialect: Dialect = SQLITE
    where = "database"  # the file, or the URL without its password (for messages)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        raise NotImplementedError

    def transaction(self) -> Any:  # a context manager
        raise NotImplementedError

    def session(self) -> Any:  # a context manager giving a Database on one connection
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def before_migration(self, version: int) -> Path | None:
        """A copy of the database as it is, before a migration from ``version``; None: not kept."""
        return None

    # ``with db:`` is ``with db.transaction():`` (as a sqlite3 connection's block is one transaction)
    def __enter__(self) -> Database:
        block = self.transaction()
        block.__enter__()
        self._blocks().append(block)
        return self

    def __exit__(self, *exc: Any) -> bool | None:
        return self._blocks().pop().__exit__(*exc)

    def _blocks(self) -> list:
        local = self.__dict__.setdefault("_with", threading.local())
        if not hasattr(local, "blocks"):
            local.blocks = []
        return local.blocks


class SQLiteDatabase(Database):
    """One sqlite3 connection (autocommit; transactions begun explicitly), one thread at a time."""

    def __init__(self, conn: sqlite3.Connection, where: str, file: Path | None = None):
        conn.isolation_level = None
        self.conn, self.where, self.file = conn, where, file
        self._lock = threading.RLock()
        self._depth = 0

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        with self._lock:
            try:
                cur = self.conn.execute(sql, args)
                return Result(cur.fetchall(), cur.rowcount)
            except sqlite3.Error as err:
                raise self.dialect.error(err, self.where) from err

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        with self.transaction():
            try:
                return self.conn.executemany(sql, rows).rowcount
            except sqlite3.Error as err:
                raise self.dialect.error(err, self.where) from err

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
                self.execute("COMMIT")
            finally:
                self._depth = 0
                if self.conn.in_transaction:
                    with suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")

    @contextmanager
    def session(self) -> Iterator[Database]:
        yield self  # one process, one file: this connection is the session

    def close(self) -> None:
        self.conn.close()

    def backup(self, out: Path) -> None:
        """A consistent copy with SQLite's online backup API while others write (WAL included)."""
        partial = out.with_name(out.name + ".partial")
        partial.unlink(missing_ok=True)
        try:
            dest = sqlite3.connect(partial)
            try:
                with self._lock:
                    self.conn.backup(dest)
            finally:
                dest.close()
        except sqlite3.Error as err:
            raise self.dialect.error(err, f"backup of {self.where}") from err
        partial.replace(out)

    def before_migration(self, version: int) -> Path | None:
        """Beside the file: ``NAME.schema-vN.bak`` (a later upgrade from the same version adds the
        time to the name instead of overwriting); nothing for a new or in-memory database."""
        if self.file is None or version == 0:
            return None
        target = self.file.with_name(f"{self.file.name}.schema-v{version}.bak")
        if target.exists():
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            target = self.file.with_name(f"{self.file.name}.schema-v{version}.{stamp}.bak")
        self.backup(target)
        return target
