"""The store's hot statements, timed on SQLite and on PostgreSQL: what a release day asks of it.

N chats are written one statement each (what /start and /set do), read back whole (what a
hand-over reads), N outbox rows queued in one transaction (a hand-over's commit), then drained
the way the sender does it: the due rows, then rounds of 200 claimed ``sending`` in one write
and their messages recorded (the rows ``sent``) in one more (1,000 rows); where the store has no
``sent_many`` (before paid broadcasts), per row its state to 'sending', the message recorded, its
state to 'sent' (three writes per one-message row). Printed: each step's count, time and rate.

Otherwise only methods that older tic-alerts have too are used, so an older checkout's Python
(its venv, ``/old/.venv/bin/python bench/store.py``) measures the store before a change (on SQLite).

Usage: python bench/store.py [--chats 10000] [--db sqlite|postgresql|URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pg_server import bench_databases  # noqa: E402

from bot.store.db import connect  # noqa: E402
from bot.store.outbox import DeliveryKind, DeliveryState, NewDelivery, Outbox  # noqa: E402
from bot.store.subscribers import Subscribers  # noqa: E402


def timed(label: str, n: int, step) -> None:
    started = time.perf_counter()
    step()
    seconds = time.perf_counter() - started
    print(
        f"  {label:<44} {n:>6} in {seconds:6.2f} s: {n / seconds:9,.0f}/s ({seconds / n * 1e6:7.0f} µs each)"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chats", type=int, default=10_000)
    ap.add_argument("--db", help="sqlite (default), postgresql (a throwaway server) or a postgresql:// URL")
    args = ap.parse_args()
    with bench_databases(args.db, Path(tempfile.mkdtemp(prefix="tic-bench-store-"))) as new:
        target = new()
        print(f"{'postgresql' if target.startswith('postgres') else 'sqlite'}, {args.chats} chats:")
        run(connect(target), args.chats)
    return 0


def run(conn, n: int) -> None:
    subs, outbox = Subscribers(conn), Outbox(conn)
    now = dt.datetime.now(dt.UTC)
    chats = range(1, n + 1)

    def start() -> None:
        for chat in chats:
            subs.touch(chat, "private", "", now)
            subs.set_subscribed(chat, True, now)
            subs.set_rule(chat, "holdings-3m-drop", threshold=40.0)

    timed("chats: touch + subscribe + set a rule", n, start)
    timed("chats: get one, settings too", n // 10, lambda: [subs.get(chat) for chat in range(1, n // 10 + 1)])
    timed("chats: active_chats() (all, 4 reads)", 10, lambda: [subs.active_chats() for _ in range(10)])
    rows = [NewDelivery(f"r:{c}:0", "2026-04", c, DeliveryKind.ALERT, ("<b>alert</b>",)) for c in chats]

    def queue() -> None:
        with conn:
            outbox.add_many(rows, now=now)

    timed("outbox: queue (one transaction)", n, queue)
    timed("outbox: due(limit=200) × 50", 50, lambda: [outbox.due(now=now, limit=200) for _ in range(50)])
    sent = outbox.due(now=now, limit=min(n, 1000))

    def drain() -> None:
        if hasattr(outbox, "sent_many"):  # since paid broadcasts: a round's rows, two writes in all
            for at in range(0, len(sent), 200):
                batch = sent[at : at + 200]
                outbox.claim_many([row.id for row in batch], now=now)
                records = [(row.id, (at + i,), ("text",), True) for i, row in enumerate(batch)]
                outbox.sent_many(records, now=now)
            return
        for i, row in enumerate(sent):
            outbox.set_state(row.id, DeliveryState.SENDING, now=now)
            outbox.sent_one(row.id, message_id=i, now=now)
            outbox.set_state(row.id, DeliveryState.SENT, now=now, detail="")

    timed("sender: sending → message recorded → sent", len(sent), drain)
    conn.close()


if __name__ == "__main__":
    raise SystemExit(main())
