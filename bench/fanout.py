"""Release-day fan-out: N subscribers with random thresholds, one release, Telegram's limits enforced.

The bench composes the release for every subscriber the way the poller's hand-over does (the
dispatcher, into the outbox of a fresh database), then starts `tic-alert serve` as a real
subprocess whose sender drains that outbox into the fake Bot API (tests/telegram_server.py),
which enforces 30 messages/s overall and 1/s per chat (429 beyond). The sender runs at
``--rate`` (default 28/s). Printed: time to compose all messages, achieved sends/s, 429s
received, uploads (= distinct charts), sends per chat, hand-over → first and → last delivery,
and the sender process's peak RSS.

``--db postgresql`` runs it on a PostgreSQL database (a throwaway server from the PostgreSQL
binaries, tests/pg_server.py), ``--db postgresql://…`` on an empty database of yours.

Usage: python bench/fanout.py [DATA_DIR] [--subscribers 10000] [--rate 28] [--seed 1] [--db DB]
Targets (issue 11): ≥ 27 sends/s, 0 × 429, RSS ≤ 300 MB, compose ≤ 5 s for 10,000.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pg_server import bench_databases  # noqa: E402
from procstat import peak_rss_mb  # noqa: E402
from telegram_server import TelegramServer  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.data.load import panel_from_bytes, read_dir  # noqa: E402
from bot.notify.dispatch import Dispatcher  # noqa: E402
from bot.rules.catalogue import load_rules  # noqa: E402
from bot.store.db import connect  # noqa: E402
from bot.store.outbox import Outbox  # noqa: E402
from bot.store.subscribers import Subscribers  # noqa: E402


def populate(conn, n: int, rng: random.Random) -> None:
    subs = Subscribers(conn)
    now = dt.datetime.now(dt.UTC)
    for chat in range(1, n + 1):
        subs.touch(chat, "private", "", now)
        subs.set_subscribed(chat, True, now)
        if rng.random() < 0.5:
            subs.set_rule(chat, "holdings-3m-drop", threshold=float(rng.choice([20, 40, 50, 60, 80, 120])))
        if rng.random() < 0.3:
            subs.set_rule(chat, "multi-year-low", threshold=float(rng.choice([5, 10, 15, 20])))
        if rng.random() < 0.1:
            subs.set_rule(chat, "record-3m-decline", threshold=float(rng.choice([1, 3, 5, 10])))
        if rng.random() < 0.1:
            subs.watch(chat, rng.choice(["Japan", "China, Mainland", "Japan + China", "Belgium"]))
        if rng.random() < 0.1:
            subs.set_mode(chat, "summary", now)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "data_dir", nargs="?", default=str(ROOT.parent / "shared" / "data" / "tic" / "2026-07-01")
    )
    ap.add_argument("--subscribers", type=int, default=10_000)
    ap.add_argument("--rate", type=float, default=28.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--db", help="sqlite (default), postgresql (a throwaway server) or a postgresql:// URL")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tic-bench-fanout-"))
    with bench_databases(args.db, tmp) as new:
        return fanout(args, tmp, new())


def fanout(args: argparse.Namespace, tmp: Path, db: str) -> int:
    settings = load_settings(env={})
    rules = load_rules(settings.groups)
    panel = panel_from_bytes(read_dir(Path(args.data_dir)), settings.groups)
    conn = connect(db)
    populate(conn, args.subscribers, random.Random(args.seed))
    dispatcher = Dispatcher(conn, rules=rules, groups=settings.groups)
    t0 = time.perf_counter()
    with conn:
        done = dispatcher.dispatch("2026-04", ["2026-04"], panel)
    compose = time.perf_counter() - t0
    conn.close()
    print(
        f"{args.subscribers} subscribers: composed {done.alerts} alerts ({done.charts} charts) "
        f"in {compose:.2f} s (target ≤ 5 s for 10,000) on {conn.dialect.name}"
    )
    config = tmp / "fanout.toml"
    config.write_text(f"[telegram]\nmessages_per_second = {args.rate}\n")
    with TelegramServer() as server:
        server.limits(overall_per_s=30, per_chat_per_s=1, per_group_per_min=20)
        env = {
            **os.environ,
            "TIC_ALERT_BOT_TOKEN": "42:FANOUT",
            "TIC_ALERT_TELEGRAM_API_URL": server.base_url,
            "TIC_ALERT_DB": str(db),
            "TIC_ALERT_CONFIG": str(config),
        }
        log = open(tmp / "serve.log", "w")  # noqa: SIM115
        handover = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--data-dir", args.data_dir],
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            check = connect(db)
            deadline = time.monotonic() + done.alerts / 20 + 120
            while time.monotonic() < deadline:
                counts = Outbox(check).counts("2026-04")
                if counts["pending"] == 0 and counts["sending"] == 0:
                    break
                time.sleep(0.2)
            check.close()
            rss = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()
        sent = [x for x in server.sent() if x.method in ("sendPhoto", "sendMessage")]
        first, last = sent[0].at, sent[-1].at
        per_chat = collections.Counter(x.chat_id for x in sent)
        spread = collections.Counter(per_chat.values())
        span = max(last - first, 1e-9)
        print(
            f"sent {len(sent)} messages to {len(per_chat)} chats: {len(sent) / span:.1f} sends/s"
            " (target ≥ 27)"
        )
        print(
            f"429 received: {server.count_429} (target 0); uploads {server.uploads} (distinct charts "
            f"{done.charts}); outbox {counts}"
        )
        print("sends per chat: " + ", ".join(f"{k} message(s): {v} chats" for k, v in sorted(spread.items())))
        print(
            f"hand-over → first delivery {first - handover:.1f} s (includes the bot's start), "
            f"→ last {last - handover:.1f} s"
        )
        print(f"sender process peak RSS {rss:.0f} MB (target ≤ 300); log {tmp / 'serve.log'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
