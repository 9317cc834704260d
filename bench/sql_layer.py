"""What one statement costs through each SQL layer: the driver alone, tic-alert's Database API
(bot/store/database.py), and SQLAlchemy Core (``text()`` and expression statements), on SQLite
and on PostgreSQL. The evidence for choosing hand-written SQL per dialect (docs/store.md).

Two statements of the sender's hot path on an outbox of N rows: a write (an UPDATE of one row by
id, committed on its own, as ``Outbox.set_state``) and a read (one row by id). Each layer runs
them in batches of 200; printed is the fastest batch's time per statement (the machine is shared:
the fastest batch is the one least disturbed). Every layer gets the same connection settings
(SQLite: WAL, synchronous=NORMAL; PostgreSQL: autocommit, one connection).

SQLAlchemy is not a dependency of tic-alert: ``pip install sqlalchemy`` into the venv first.

Usage: python bench/sql_layer.py [--rows 5000] [--db sqlite|postgresql|URL] [--batches 25]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pg_server import bench_databases  # noqa: E402

from bot.store.database import Database  # noqa: E402
from bot.store.db import connect, iso  # noqa: E402
from bot.store.outbox import DeliveryKind, NewDelivery, Outbox  # noqa: E402

WRITE = "UPDATE deliveries SET updated_at = ?, attempts = attempts + 1 WHERE id = ?"
READ = "SELECT id, key, chat_id, state FROM deliveries WHERE id = ?"
BATCH = 200
Step = Callable[[int, str], object]  # (row id, now) → one statement run


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--batches", type=int, default=25)
    ap.add_argument("--db", help="sqlite (default), postgresql (a throwaway server) or a postgresql:// URL")
    args = ap.parse_args()
    try:
        import sqlalchemy  # noqa: F401
    except ImportError:
        print("SQLAlchemy is not installed: pip install sqlalchemy (it is not a tic-alert dependency)")
        return 2
    with bench_databases(args.db, Path(tempfile.mkdtemp(prefix="tic-bench-sql-"))) as new:
        target = new()
        db = connect(target)
        now = dt.datetime.now(dt.UTC)
        with db:
            rows = range(1, args.rows + 1)
            Outbox(db).add_many(
                [NewDelivery(f"r:{c}:0", "2026-04", c, DeliveryKind.ALERT, ("x",)) for c in rows], now=now
            )
        print(f"{db.dialect.name}, {args.rows} outbox rows, {args.batches} batches of {BATCH}:")
        layers = [
            ("driver alone", *driver(db, target)),
            ("tic-alert Database API", *api(db)),
            ("SQLAlchemy Core text()", *alchemy(target, expression=False)),
            ("SQLAlchemy Core update()/select()", *alchemy(target, expression=True)),
        ]
        for name, write, read, close in layers:
            w = fastest(write, args.rows, args.batches)
            r = fastest(read, args.rows, args.batches)
            print(f"  {name:<36} write {w:7.1f} µs   read {r:7.1f} µs  (per statement)")
            close()
        db.close()
    return 0


def fastest(step: Step, rows: int, batches: int) -> float:
    """µs per statement of the fastest batch."""
    best = float("inf")
    now = iso(dt.datetime.now(dt.UTC))
    for b in range(batches):
        first = (b * BATCH) % max(rows - BATCH, 1) + 1
        started = time.perf_counter()
        for rid in range(first, first + BATCH):
            step(rid, now)
        best = min(best, (time.perf_counter() - started) / BATCH * 1e6)
    return best


def api(db: Database) -> tuple[Step, Step, Callable[[], None]]:
    return (
        lambda rid, now: db.execute(WRITE, (now, rid)),
        lambda rid, now: db.execute(READ, (rid,)).fetchone(),
        lambda: None,
    )


def driver(db: Database, target: str) -> tuple[Step, Step, Callable[[], None]]:
    """The driver's own connection, as main's store used sqlite3 (or psycopg, autocommit)."""
    if db.dialect.name == "sqlite":
        import sqlite3

        conn = sqlite3.connect(target)
        conn.execute("PRAGMA synchronous=NORMAL")

        def write(rid: int, now: str) -> None:
            with conn:  # main's store: one transaction per write
                conn.execute(WRITE, (now, rid))

        return write, lambda rid, now: conn.execute(READ, (rid,)).fetchone(), conn.close
    import psycopg

    pg = psycopg.connect(target, autocommit=True)
    w, r = WRITE.replace("?", "%s"), READ.replace("?", "%s")
    return (
        lambda rid, now: pg.execute(w, (now, rid)),
        lambda rid, now: pg.execute(r, (rid,)).fetchone(),
        pg.close,
    )


def alchemy(target: str, *, expression: bool) -> tuple[Step, Step, Callable[[], None]]:
    import sqlalchemy as sa

    sqlite = not target.startswith("postgres")
    url = f"sqlite:///{target}" if sqlite else target.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")  # one statement, one commit
    if sqlite:

        @sa.event.listens_for(engine, "connect")
        def pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.execute("PRAGMA synchronous=NORMAL")

    if expression:
        d = sa.Table("deliveries", sa.MetaData(), autoload_with=engine)
        write = (
            sa.update(d)
            .where(d.c.id == sa.bindparam("rid"))
            .values(attempts=d.c.attempts + 1, updated_at=sa.bindparam("now"))
        )
        read = sa.select(d.c.id, d.c.key, d.c.chat_id, d.c.state).where(d.c.id == sa.bindparam("rid"))
    else:
        write = sa.text(WRITE.replace("= ?,", "= :now,").replace("id = ?", "id = :rid"))
        read = sa.text(READ.replace("?", ":rid"))
    conn = engine.connect()

    def close() -> None:
        conn.close()
        engine.dispose()

    return (
        lambda rid, now: conn.execute(write, {"rid": rid, "now": now}),
        lambda rid, now: conn.execute(read, {"rid": rid}).fetchone(),
        close,
    )


if __name__ == "__main__":
    raise SystemExit(main())
