"""`tic-alert backup`: a consistent copy of a SQLite state file while the bot writes to it.

SQLite only: a PostgreSQL database is copied with the server's own tool, pg_dump (it gives a
consistent snapshot while tic-alert runs, and pg_restore puts it back); tic-alert says so and
copies nothing. Neither is there a copy before a migration on PostgreSQL (take a pg_dump before
upgrading tic-alert): the migration itself is one transaction, so a failed one changes nothing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.errors import StoreError
from bot.store.database import SQLiteDatabase
from bot.store.db import describe, is_postgres
from bot.store.dialect import one_line

PG_DUMP = "pg_dump --format=custom --file=tic-alert.dump URL"


def backup(target: str | Path, out: Path) -> tuple[str, int]:
    """Copy the SQLite database at ``target`` to the new file ``out`` (SQLite's online backup
    API: what other connections committed, WAL included); its integrity check and schema version."""
    if is_postgres(target):
        raise StoreError(
            f"backup: {describe(target)} is a PostgreSQL database: back it up with pg_dump ({PG_DUMP})"
        )
    src = Path(target).expanduser()
    if not src.is_file():
        raise StoreError(f"{src}: no database there to back up")
    try:
        conn = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
        conn.execute("PRAGMA busy_timeout=5000")
    except sqlite3.Error as err:
        raise StoreError(f"backup of {src}: {one_line(err)}") from err
    db = SQLiteDatabase(conn, str(src))
    try:
        db.backup(out)
    finally:
        db.close()
    copy = sqlite3.connect(out)
    try:
        (check,) = copy.execute("PRAGMA quick_check").fetchone()
        (version,) = copy.execute("PRAGMA user_version").fetchone()
    finally:
        copy.close()
    return str(check), int(version)
