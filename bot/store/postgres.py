"""The PostgreSQL side of :class:`~bot.store.database.Database`: a psycopg 3 pool.

Connections are autocommit: a statement on its own is one round trip (no BEGIN/COMMIT around
it); :meth:`PostgresDatabase.transaction` takes one connection for the calling thread until the
block ends, so the statements of a block (whatever store class runs them) share it. psycopg
prepares a statement on a connection after it has run a few times. :meth:`~PostgresDatabase.session`
is a connection outside the pool, for what must live as long as a session: a session-level
advisory lock (a leader's, ``dialect.LEADER_LOCK``), ``LISTEN``.
"""

from __future__ import annotations

import select
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from bot.errors import StoreError
from bot.store.database import Database, Result
from bot.store.dialect import POSTGRES, holder, one_line, session_name

POOL_SIZE = 8  # connections per Database at most (the bot's loop, its command workers, a scrape)
WAIT_SECONDS = 5.0  # for a free connection (as SQLite waits for its write lock): then "busy"
# a session's client gives up on a silent server within ~10 s, when nothing between answers for
# it (a leader does not wait for that: leader.TRUST; the server's side: dialect.LOCK_SESSION)
KEEPALIVE = {
    "keepalives": 1,
    "keepalives_idle": 3,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}


class PostgresDatabase(Database):
    """A psycopg pool (autocommit connections); a transaction keeps one connection per thread."""

    dialect = POSTGRES

    def __init__(self, url: str, where: str, *, readonly: bool = False, size: int = POOL_SIZE):
        import psycopg
        from psycopg.conninfo import conninfo_to_dict
        from psycopg_pool import ConnectionPool

        self.where = where
        self._errors = (psycopg.Error,)
        # named after this process (dialect.end_sessions), unless the URL names them
        params: dict[str, object] = {
            "connect_timeout": 10,
            "application_name": session_name(holder()),
            **conninfo_to_dict(url),
        }
        if readonly:
            params["options"] = f"{params.get('options', '')} -c default_transaction_read_only=on".strip()
        self._params = params
        self._local = threading.local()
        try:  # one connection first: its error says why (a pool's says only that it timed out)
            psycopg.connect(**params).close()
        except psycopg.Error as err:
            raise StoreError(f"{where}: cannot open the state database ({one_line(err)})") from err
        self.pool = ConnectionPool(
            kwargs={**params, "autocommit": True},
            min_size=1,
            max_size=size,
            configure=_configure,
            open=False,
            timeout=WAIT_SECONDS,
            name="tic-alert",
        )
        self.pool.open()

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        conn = getattr(self._local, "conn", None)
        try:
            if conn is not None:
                return _run(conn, self.dialect.sql(sql), args)
            with self.pool.connection() as conn:
                return _run(conn, self.dialect.sql(sql), args)
        except self._errors as err:
            self._lost(conn)
            raise self.dialect.error(err, self.where) from err

    def _lost(self, conn: Any) -> None:
        """A connection that broke (the server restarted, or ended the session): the others in
        the pool are checked now, so the failure costs one statement, not one per connection."""
        if conn is not None and conn.closed:
            with suppress(*self._errors):
                self.pool.check()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        with self.transaction():
            try:
                cur = self._local.conn.cursor()
                cur.executemany(self.dialect.sql(sql), list(rows))
                return int(cur.rowcount)
            except self._errors as err:
                raise self.dialect.error(err, self.where) from err

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if getattr(self._local, "conn", None) is not None:
            yield  # joins the thread's open transaction
            return
        conn = None
        try:
            with self.pool.connection() as conn, conn.transaction():
                self._local.conn = conn
                try:
                    yield
                finally:
                    self._local.conn = None
        except self._errors as err:
            self._lost(conn)
            raise self.dialect.error(err, self.where) from err

    @contextmanager
    def session(self) -> Iterator[Database]:
        """A connection of its own, outside the pool, until the block ends (its session-level
        advisory locks with it), with TCP keepalives."""
        import psycopg

        try:
            conn = psycopg.connect(**{**KEEPALIVE, **self._params}, autocommit=True)
        except psycopg.Error as err:
            raise self.dialect.error(err, self.where) from err
        _configure(conn)
        try:
            yield _Session(conn, self.where)
        finally:
            conn.close()

    def close(self) -> None:
        self.pool.close()


class _Session(Database):
    """One PostgreSQL connection, autocommit, for one thread (see :meth:`PostgresDatabase.session`)."""

    dialect = POSTGRES

    def __init__(self, conn: Any, where: str):
        import psycopg

        self.conn, self.where, self._errors = conn, where, (psycopg.Error,)

    def execute(self, sql: str, args: Sequence[Any] = ()) -> Result:
        try:
            return _run(self.conn, self.dialect.sql(sql), args)
        except self._errors as err:
            raise self.dialect.error(err, self.where) from err

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        with self.transaction():
            cur = self.conn.cursor()
            cur.executemany(self.dialect.sql(sql), list(rows))
            return int(cur.rowcount)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            with self.conn.transaction():
                yield
        except self._errors as err:
            raise self.dialect.error(err, self.where) from err

    @contextmanager
    def session(self) -> Iterator[Database]:
        yield self

    def idle(self, seconds: float) -> None:
        """An idle session's socket turns readable when the server ends it (pg_terminate_backend,
        a shutdown): a leader learns it at once, not at its next check."""
        if self._readable(seconds) is None:
            time.sleep(seconds)  # closed already

    def spoke(self) -> bool:
        return self._readable(0.0) is not False  # readable, or closed

    def _readable(self, seconds: float) -> bool | None:
        """Whether the socket turned readable within ``seconds``; None: the connection is closed."""
        with suppress(*self._errors, OSError, ValueError):
            return bool(select.select([self.conn.fileno()], [], [], seconds)[0])
        return None

    def close(self) -> None:
        self.conn.close()


def _run(conn: Any, sql: str, args: Sequence[Any]) -> Result:
    cur = conn.execute(sql, args)
    return Result(cur.fetchall() if cur.description is not None else [], cur.rowcount)


def _configure(conn: Any) -> None:
    """Python's bools go in as 0/1, as SQLite stores them (the flags are integer columns)."""
    conn.adapters.register_dumper(bool, _bool_dumper())


def _bool_dumper() -> type:
    global _BOOL
    if _BOOL is None:
        from psycopg.adapt import Dumper
        from psycopg.postgres import types

        class BoolAsInt(Dumper):
            oid = types["int8"].oid

            def dump(self, obj: bool) -> bytes:
                return b"1" if obj else b"0"

        _BOOL = BoolAsInt
    return _BOOL


_BOOL: type | None = None
