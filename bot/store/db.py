"""The SQLite file tic-alert keeps its state in: one connection factory and numbered migrations.

The schema's version is ``PRAGMA user_version``. :data:`MIGRATIONS` lists the scripts that take a
database from version *n* to *n + 1*; :func:`connect` runs the missing ones in one transaction
each, so a database made by an older tic-alert keeps its data and a new one gets the same schema.
A database from a newer tic-alert, or one that is not ours, is refused with a StoreError.
Times are ISO 8601 strings in UTC; months are ``YYYY-MM``.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.errors import StoreError

log = logging.getLogger("tic_alert.store")

_V1 = """
CREATE TABLE IF NOT EXISTS vintages (
    id            INTEGER PRIMARY KEY,
    file          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    vintage       TEXT NOT NULL,   -- newest month (YYYY-MM), or mfhhis01's footer stamp (YYYY-MM-DD)
    etag          TEXT,
    last_modified TEXT,
    first_seen    TEXT NOT NULL,
    size          INTEGER NOT NULL,
    body          BLOB NOT NULL,
    UNIQUE (file, sha256)
);
CREATE TABLE IF NOT EXISTS current (  -- the copy we hold of each file, and its validators
    file          TEXT PRIMARY KEY,
    vintage_id    INTEGER NOT NULL REFERENCES vintages (id),
    etag          TEXT,
    last_modified TEXT,
    checked_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    month         TEXT PRIMARY KEY,  -- newest month on the Country line of slt_table5.txt
    months        TEXT NOT NULL,     -- JSON list of the months new in this release, oldest first
    first_seen    TEXT NOT NULL,
    headline_id   INTEGER NOT NULL REFERENCES vintages (id),
    baseline      INTEGER NOT NULL,  -- 1: the first release this store saw (not seen being published)
    gather_until  TEXT NOT NULL,     -- companions are polled until this moment
    closed_at     TEXT,
    handed_over   TEXT               -- JSON of the contents last handed to the rules stage
);
CREATE TABLE IF NOT EXISTS release_files (  -- which file showed the release, and when
    month         TEXT NOT NULL REFERENCES releases (month),
    file          TEXT NOT NULL,
    before_id     INTEGER,           -- the copy held when the release was found
    vintage_id    INTEGER,           -- the copy that shows the release (NULL: not yet)
    complete_at   TEXT,
    PRIMARY KEY (month, file)
);
CREATE TABLE IF NOT EXISTS poll_log (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    file          TEXT NOT NULL,
    outcome       TEXT NOT NULL,     -- not_modified, unchanged, new_release, revision, stale, complete, error
    status        INTEGER,
    bytes         INTEGER NOT NULL DEFAULT 0,
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS operator_events (
    id            INTEGER PRIMARY KEY,
    at            TEXT NOT NULL,
    kind          TEXT NOT NULL,
    key           TEXT NOT NULL UNIQUE,
    detail        TEXT NOT NULL
);
"""

_V2 = """
CREATE TABLE chats (              -- every chat the bot has met, subscribed or not
    chat_id       INTEGER PRIMARY KEY,
    type          TEXT NOT NULL,                 -- private, group, supergroup, channel
    title         TEXT NOT NULL DEFAULT '',
    subscribed    INTEGER NOT NULL DEFAULT 0,    -- /start sets it, /stop clears it
    blocked       INTEGER NOT NULL DEFAULT 0,    -- the bot was blocked, kicked or removed
    mode          TEXT NOT NULL DEFAULT 'alerts', -- alerts: only when a rule fires; summary: every release
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE TABLE chat_rules (         -- a chat's own settings of a rule; no row = the defaults
    chat_id       INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    rule          TEXT NOT NULL,
    threshold     REAL,                          -- NULL = the rule's default threshold
    enabled       INTEGER,                       -- NULL = as the catalogue says; 0 off; 1 on
    muted_until   TEXT,                          -- YYYY-MM-DD inclusive; NULL = not muted
    PRIMARY KEY (chat_id, rule)
);
CREATE TABLE chat_watches (       -- entities a chat watches (none = every entity the rules cover)
    chat_id       INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    entity        TEXT NOT NULL,
    PRIMARY KEY (chat_id, entity)
);
CREATE TABLE chat_groups (        -- a chat's own groups, e.g. Belgium + Luxembourg
    chat_id       INTEGER NOT NULL REFERENCES chats (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    name          TEXT NOT NULL,
    members       TEXT NOT NULL,                 -- JSON list of canonical country names
    PRIMARY KEY (chat_id, name)
);
"""
_V3 = """
CREATE TABLE charts (             -- a release's chart, rendered once, uploaded once
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,          -- the release and what the chart shows
    png           BLOB NOT NULL,
    file_id       TEXT                           -- Telegram's id once uploaded: every other chat reuses it
);
CREATE TABLE deliveries (         -- the outbox: one row per (release, chat, edition)
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,          -- release:chat:edition; replaying a hand-over adds nothing
    release       TEXT NOT NULL,
    chat_id       INTEGER NOT NULL,
    kind          TEXT NOT NULL,                 -- alert, followup, edit, operator
    messages      TEXT NOT NULL,                 -- JSON list of HTML texts (the first: the chart's caption)
    chart_id      INTEGER REFERENCES charts (id),
    edit_of       INTEGER REFERENCES deliveries (id),
    events        TEXT NOT NULL DEFAULT '[]',    -- JSON [[event key, digest], …] this delivery tells
    state         TEXT NOT NULL DEFAULT 'pending', -- pending, sending, sent, failed, blocked
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    TEXT,                          -- retry no earlier than this (429, network errors)
    sent_ids      TEXT NOT NULL DEFAULT '[]',    -- Telegram message ids, one per message already sent
    detail        TEXT NOT NULL DEFAULT '',
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX deliveries_state ON deliveries (state, id);
CREATE INDEX deliveries_chat ON deliveries (release, chat_id);
CREATE INDEX deliveries_chat_order ON deliveries (chat_id, id, state);
"""
_V4 = """
ALTER TABLE chat_rules ADD COLUMN floor REAL;  -- the chat's smallest $bn move for the rule; NULL = the rule's
"""
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4)  # MIGRATIONS[n] takes version n to n + 1
SCHEMA_VERSION = len(MIGRATIONS)
UNWRITABLE = ("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM")  # opened read-only instead


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (or create) the state database at ``path`` (":memory:" for tests) and migrate it.

    A database that exists but cannot be opened for writing (a read-only mount, say) is opened
    read-only instead, when it needs no migration: what it holds is served, and every write
    fails with SQLITE_READONLY (the callers say so) until it is writable and tic-alert restarts."""
    memory = str(path) == ":memory:"
    file = Path(path).expanduser()
    if not memory:
        file.parent.mkdir(parents=True, exist_ok=True)
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(":memory:" if memory else str(file), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives a crash of the process (not always a power cut) and
        # costs no fsync, so a command's settings write does not wait for the disk
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        migrate(conn, str(path), None if memory else file)
    except sqlite3.Error as err:
        if conn is not None:
            conn.close()
        unwritable = (getattr(err, "sqlite_errorname", "") or "").startswith(UNWRITABLE)
        if memory or not unwritable or not file.is_file():
            raise StoreError(f"{path}: cannot open the state database ({err})") from err
        try:
            conn = open_readonly(file)
        except StoreError as also:
            raise StoreError(f"{path}: cannot open the state database ({err}; read-only: {also})") from err
        log.warning(
            "%s cannot be written (%s): serving what it holds, every write fails until it is writable"
            " and tic-alert restarts",
            path,
            err,
        )
    return conn


def migrate(conn: sqlite3.Connection, where: str = "database", file: Path | None = None) -> int:
    """Run the migrations the database lacks; returns the version it is at afterwards.

    A database ``file`` that holds data is first copied beside itself (:func:`backup_before`)."""
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(f"{where}: schema version {version}, this tic-alert knows {SCHEMA_VERSION}")
    if version == 0 and conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
        raise StoreError(f"{where}: has tables but no tic-alert schema version: not a tic-alert database")
    if version == SCHEMA_VERSION:
        return version
    if file is not None and version > 0:
        backup_before(conn, file, version)
    # one write transaction for all the steps, taken before the version is read again: of two
    # processes upgrading at once, the second finds the work done (a crash leaves the old version)
    with write_lock(conn):
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for n in range(version, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[n]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return SCHEMA_VERSION


@contextmanager
def write_lock(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One transaction holding the write lock from its start (BEGIN IMMEDIATE): committed at the
    end of the block, rolled back on any error."""
    conn.isolation_level = None
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.isolation_level = ""


def _statements(script: str) -> list[str]:
    """A migration script's statements (they hold no ';' inside strings or comments)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]


def iso(moment: dt.datetime) -> str:
    """An aware datetime → ISO 8601 in UTC (sorts as text)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds")


def from_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def backup(conn: sqlite3.Connection, target: Path) -> None:
    """Copy the database behind ``conn`` to ``target`` with SQLite's online backup API: a
    consistent copy while other connections write (WAL included), never a torn one."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    dest = sqlite3.connect(partial)
    try:
        conn.backup(dest)
    finally:
        dest.close()
    partial.replace(target)


def backup_before(conn: sqlite3.Connection, file: Path, version: int) -> Path:
    """Before migrating: the database as it was, beside it (``NAME.schema-vN.bak``; a later
    upgrade from the same version adds the time to the name instead of overwriting)."""
    target = file.with_name(f"{file.name}.schema-v{version}.bak")
    if target.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        target = file.with_name(f"{file.name}.schema-v{version}.{stamp}.bak")
    backup(conn, target)
    log.warning("%s: schema v%d, copied to %s before migrating to v%d", file, version, target, SCHEMA_VERSION)
    return target


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """Open an existing database to read it: never creates the file or its folders, never migrates."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise StoreError(
            f"{file}: no database there yet (tic-alert run or poll makes it; TIC_ALERT_DB moves it)"
        )
    try:
        conn = _read_only(file)
        conn.execute("PRAGMA busy_timeout=5000")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as err:
        raise StoreError(f"{file}: cannot read the state database ({err})") from err
    if version != SCHEMA_VERSION:
        conn.close()
        raise StoreError(
            f"{file}: schema version {version}, this tic-alert reads {SCHEMA_VERSION}"
            + (": start tic-alert run (or poll) once to upgrade it" if version < SCHEMA_VERSION else "")
        )
    return conn


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
