"""Where tic-alert keeps its state, and opening it: a SQLite file (the default: one process, one
file, nothing to install) or a PostgreSQL database (``postgresql://…``, shared by several
processes or machines).

``TIC_ALERT_DB`` (or ``[store] db_path``) is either: a path (or nothing: the default file) selects
SQLite, a URL ``postgresql://user:password@host:port/database`` selects PostgreSQL. This module is
the one place that tells them apart; the rest of the store sees a
:class:`~bot.store.database.Database`. Times are ISO 8601 strings in UTC; months are ``YYYY-MM``.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
from pathlib import Path

from bot.errors import StoreError
from bot.masking import mask, remember_url
from bot.store.database import Database, SQLiteDatabase
from bot.store.dialect import one_line
from bot.store.postgres import PostgresDatabase
from bot.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "NoDatabase", "connect", "from_iso", "iso", "open_readonly"]
log = logging.getLogger("tic_alert.store")
_URL = re.compile(r"^postgres(ql)?://", re.IGNORECASE)
UNWRITABLE = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM")  # a SQLite file opened read-only instead
MIN_SQLITE = (3, 35)  # UPDATE … RETURNING (2021; Debian 12 has 3.40, Ubuntu 22.04 3.37)


class NoDatabase(StoreError):
    """Nothing there yet: no SQLite file, or a PostgreSQL database without tic-alert's tables."""


def is_postgres(target: str | Path) -> bool:
    return bool(_URL.match(str(target)))


def expand(target: str) -> str:
    """A setting's value as a target: a URL as it is, a path with ``~`` expanded."""
    return target if is_postgres(target) else str(Path(target).expanduser())


def describe(target: str | Path) -> str:
    """The target for messages and logs: a URL's passwords masked (every form: bot.masking), and
    remembered, so that a library's message quoting one is masked as well."""
    if is_postgres(target):
        remember_url(str(target))
    return mask(str(target))


def _missing(target: str | Path) -> bool:
    """Nothing there yet, as far as can be told without connecting (a SQLite file that does not
    exist); a PostgreSQL database's server answers that when it is opened."""
    return not is_postgres(target) and str(target) != ":memory:" and not Path(target).is_file()


def connect(target: str | Path, *, create: bool = True) -> Database:
    """Open the state database at ``target`` (":memory:" for tests) and migrate it; ``create``
    False refuses what holds no tic-alert database yet instead of making one.

    A SQLite file that exists but cannot be opened for writing (a read-only mount, say) is opened
    read-only instead, when it needs no migration: what it holds is served, and every write fails
    with StoreUnavailable ("the database is read-only") until it is writable and tic-alert restarts."""
    where = describe(target)
    if not create and _missing(target):
        raise NoDatabase(f"{where}: no database there yet (tic-alert run or poll makes it)")
    try:
        return _open(target, where, create)
    except StoreError as err:
        if not _unwritable(target, err):
            raise
        refused = one_line(err.__cause__ or err)
        try:
            db = open_readonly(target)
        except StoreError as also:
            why = f"{refused}; read-only: {also}"
            raise StoreError(f"{where}: cannot open the state database ({why})") from err
    log.warning(
        "%s cannot be written (%s): serving what it holds, every write fails until it is writable"
        " and tic-alert restarts",
        where,
        refused,
    )
    return db


def _open(target: str | Path, where: str, create: bool) -> Database:
    db = PostgresDatabase(str(target), where) if is_postgres(target) else _sqlite(target)
    try:
        if not create and db.dialect.version(db) == 0:
            raise NoDatabase(f"{where}: no tic-alert schema there yet (tic-alert run or poll makes it)")
        migrate(db)
    except BaseException:
        db.close()
        raise
    return db


def _unwritable(target: str | Path, err: StoreError) -> bool:
    """A SQLite file that is there but refused to be opened for writing (SQLite's error says so)."""
    name = getattr(err.__cause__, "sqlite_errorname", "") or ""
    if is_postgres(target) or str(target) == ":memory:" or not Path(target).expanduser().is_file():
        return False
    return name.startswith(UNWRITABLE)


def _sqlite(path: str | Path) -> SQLiteDatabase:
    if sqlite3.sqlite_version_info < MIN_SQLITE:  # the sender's claims use UPDATE … RETURNING
        need = ".".join(map(str, MIN_SQLITE))
        raise StoreError(
            f"{path}: SQLite {need} or newer is needed; this Python has {sqlite3.sqlite_version}"
        )
    memory = str(path) == ":memory:"
    file = None if memory else Path(path).expanduser()
    try:
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(":memory:" if file is None else str(file), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives a crash of the process (not always a power cut) and
        # costs no fsync, so a command's settings write does not wait for the disk
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
    except (sqlite3.Error, OSError) as err:
        raise StoreError(f"{path}: cannot open the state database ({one_line(err)})") from err
    return SQLiteDatabase(conn, str(path), file)


def open_readonly(target: str | Path) -> Database:
    """Open an existing database to read it: never creates a file, its folders or tables, never
    migrates (a PostgreSQL session is read-only)."""
    where = describe(target)
    if is_postgres(target):
        db: Database = PostgresDatabase(str(target), where, readonly=True, size=1)
    else:
        file = Path(target).expanduser()
        if not file.is_file():
            raise NoDatabase(
                f"{file}: no database there yet (tic-alert run or poll makes it; TIC_ALERT_DB moves it)"
            )
        try:
            conn = _read_only(file)
            conn.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as err:
            raise StoreError(f"{file}: cannot read the state database ({one_line(err)})") from err
        db = SQLiteDatabase(conn, str(file))
    try:
        version = db.dialect.version(db)
    except StoreError:
        db.close()
        raise
    if version != SCHEMA_VERSION:
        db.close()
        if version == 0:
            raise NoDatabase(f"{where}: no tic-alert schema there yet (tic-alert run or poll makes it)")
        raise StoreError(
            f"{where}: schema version {version}, this tic-alert reads {SCHEMA_VERSION}"
            + (": start tic-alert run (or poll) once to upgrade it" if version < SCHEMA_VERSION else "")
        )
    return db


def _read_only(file: Path) -> sqlite3.Connection:
    """A read-only connection. On a read-only mount SQLite cannot make the WAL's shared-memory
    file, so ``mode=ro`` fails; with no WAL content beside it the file is then all there is, and
    is opened ``immutable`` (nothing can change it while the mount is read-only)."""
    conn = sqlite3.connect(f"file:{file}?mode=ro", uri=True, check_same_thread=False)
    try:
        conn.execute("PRAGMA user_version").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
        wal = file.with_name(file.name + "-wal")
        if wal.is_file() and wal.stat().st_size > 0:
            raise
    return sqlite3.connect(f"file:{file}?mode=ro&immutable=1", uri=True, check_same_thread=False)


def iso(moment: dt.datetime) -> str:
    """An aware datetime → ISO 8601 in UTC (sorts as text)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def from_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)
