"""Run tic-alert with its database round trips counted: ``python bench/counted.py COUNT_FILE ARGS…``
is ``tic-alert ARGS…``, and COUNT_FILE holds the count so far (rewritten every 0.1 s).

A round trip is what waits for the database once: a statement, an ``executemany`` (one batch),
and on PostgreSQL a transaction's BEGIN and its COMMIT (SQLite's go through ``execute``, counted
there). bench/commands.py reads the file before the first command and after the last reply.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.store import postgres
from bot.store.database import SQLiteDatabase

COUNT = [0]


def counting(method: Any) -> Any:
    def counted(*args: Any, **kwargs: Any) -> Any:
        COUNT[0] += 1
        return method(*args, **kwargs)

    return counted


def install() -> None:
    SQLiteDatabase.execute = counting(SQLiteDatabase.execute)  # type: ignore[method-assign]
    SQLiteDatabase.executemany = counting(SQLiteDatabase.executemany)  # type: ignore[method-assign]
    postgres._run = counting(postgres._run)
    postgres.PostgresDatabase.executemany = counting(postgres.PostgresDatabase.executemany)  # type: ignore[method-assign]
    opened = postgres.PostgresDatabase.transaction

    @contextmanager
    def transaction(self: postgres.PostgresDatabase) -> Any:
        new = getattr(self._local, "conn", None) is None
        COUNT[0] += 2 * new  # BEGIN and COMMIT (or ROLLBACK)
        with opened(self):
            yield

    postgres.PostgresDatabase.transaction = transaction  # type: ignore[method-assign]


def write_every(path: Path, seconds: float) -> None:
    while True:
        path.write_text(str(COUNT[0]))
        time.sleep(seconds)


def main() -> int:
    path, args = Path(sys.argv[1]), sys.argv[2:]
    install()
    threading.Thread(target=write_every, args=(path, 0.1), daemon=True).start()
    from bot.cli import main as tic_alert

    try:
        return tic_alert(args)
    finally:
        path.write_text(str(COUNT[0]))


if __name__ == "__main__":
    raise SystemExit(main())
