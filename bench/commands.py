"""Command latency and memory of the bot: N chats each sending 10 commands through the fake Bot API.

`tic-alert serve --data-dir DIR` runs as a real subprocess pointed at the fake Bot API
(tests/telegram_server.py) through TIC_ALERT_TELEGRAM_API_URL; chats send their commands at
``--rate`` commands per second in all. Latency is measured from the moment an update is
injected to the moment the fake receives the (first) reply, per command kind; the bot's peak RSS
is its VmHWM from /proc. The bot runs under bench/counted.py, which counts its database round
trips: printed per command (from the first command injected to the last reply), with the bot's
CPU time per command (what decides how many a second it can answer on a busy machine).

The fake does not enforce Telegram's 30 messages/s here: the bot's own limiter is set by the
config this script writes (messages_per_second = --bot-rate). At Telegram's real 30/s cap,
replies to 10,000 commands take at least 333 s whatever the bot does.

``--db postgresql`` runs the bot on a PostgreSQL database (a throwaway server from the PostgreSQL
binaries, tests/pg_server.py); ``--db postgresql://…`` on an empty database of yours.

Usage: python bench/commands.py [DATA_DIR] [--chats 1000] [--rate 200] [--bot-rate 1000] [--db DB]
Targets (issue 10): p99 ≤ 1 s for text commands, ≤ 2 s for /chart and /backtest; RSS ≤ 300 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from pg_server import bench_databases  # noqa: E402
from procstat import cpu_seconds, peak_rss_mb  # noqa: E402
from telegram_server import TelegramServer  # noqa: E402

SCRIPT = [
    "/start",
    "/status",
    "/next",
    "/watch japan",
    "/rules",
    "/set holdings-3m-drop 80",
    "/backtest record-3m-decline",
    "/chart japan+china",
    "/mode summary",
    "/help",
]
HEAVY = ("/chart", "/backtest", "/set")


def main() -> int:
    ap = argparse.ArgumentParser()
    default = ROOT.parent / "shared" / "data" / "tic" / "2026-07-01"
    ap.add_argument("data_dir", nargs="?", default=str(default))
    ap.add_argument("--chats", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=200.0, help="commands injected per second, all chats")
    ap.add_argument("--bot-rate", type=float, default=1000.0, help="the bot's messages_per_second")
    ap.add_argument("--profile", help="write a cProfile of the bot process to this file")
    ap.add_argument("--db", help="sqlite (default), postgresql (a throwaway server) or a postgresql:// URL")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tic-bench-bot-"))
    with bench_databases(args.db, tmp) as new:
        return bench(args, tmp, new())


def bench(args: argparse.Namespace, tmp: Path, db: str) -> int:
    config = tmp / "bench.toml"
    config.write_text(f"[telegram]\nmessages_per_second = {args.bot_rate}\ncommands_per_minute = 600\n")
    with TelegramServer(limits=False) as server:
        env = {
            **os.environ,
            "TIC_ALERT_BOT_TOKEN": "42:BENCH",
            "TIC_ALERT_TELEGRAM_API_URL": server.base_url,
            "TIC_ALERT_DB": db,
            "TIC_ALERT_CONFIG": str(config),
        }
        log = open(tmp / "bot.log", "w")  # noqa: SIM115
        counts = tmp / "round-trips"
        proc = subprocess.Popen(
            [
                sys.executable,
                *(["-m", "cProfile", "-o", args.profile] if args.profile else []),
                str(ROOT / "bench" / "counted.py"),
                str(counts),
                "serve",
                "--data-dir",
                args.data_dir,
            ],
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            server.wait_for(lambda s: s.commands, timeout=60)
            time.sleep(0.3)  # the counter's file is rewritten every 0.1 s
            before = int(counts.read_text())
            cpu = cpu_seconds(proc.pid)
            started = time.monotonic()
            sent_at: list[tuple[int, str, float]] = []
            gap = 1.0 / args.rate
            for i, text in enumerate(SCRIPT):
                for chat in range(1, args.chats + 1):
                    due = started + (i * args.chats + chat - 1) * gap
                    pause = due - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    server.user_message(chat, text)
                    sent_at.append((chat, text, time.monotonic()))
            need = {c: len(SCRIPT) for c in range(1, args.chats + 1)}
            total = sum(need.values())
            deadline = time.monotonic() + 600
            # a cheap count, polled: a predicate over every chat under the fake's lock would slow it
            while len(server.sent()) < total and time.monotonic() < deadline:
                time.sleep(0.5)
            finished = time.monotonic()
            cpu = cpu_seconds(proc.pid) - cpu
            rss = peak_rss_mb(proc.pid)
            time.sleep(0.3)
            trips = int(counts.read_text()) - before
        finally:
            proc.terminate()
            proc.wait(20)
            log.close()
        lat: dict[str, list[float]] = {}
        for chat in range(1, args.chats + 1):
            replies = server.sent(chat)
            asked = [(t, at) for c, t, at in sent_at if c == chat]
            # one reply per command, in order (each command of the script answers once)
            for (text, at), reply in zip(asked, replies):
                lat.setdefault(text.split()[0], []).append(reply.at - at)
    print(
        f"{total} commands ({args.chats} chats x {len(SCRIPT)}), injected at {args.rate:g}/s;"
        f" all answered after {finished - started:.1f} s: {total / (finished - started):.0f} a second"
        f" ({'postgresql' if db.startswith('postgres') else 'sqlite'})"
    )
    print(
        f"database round trips: {trips / total:.2f} a command ({trips} in all);"
        f" the bot's CPU: {cpu / total * 1000:.2f} ms a command"
    )
    allv = []
    for kind, values in lat.items():
        values.sort()
        allv += values
        p99 = values[int(0.99 * (len(values) - 1))]
        print(
            f"  {kind:<10} n={len(values):>5}  median {statistics.median(values) * 1000:7.1f} ms"
            f"  p99 {p99 * 1000:7.1f} ms  max {values[-1] * 1000:7.1f} ms"
        )
    text = sorted(v for k, vs in lat.items() if not k.startswith(HEAVY) for v in vs)
    heavy = sorted(v for k, vs in lat.items() if k.startswith(HEAVY) for v in vs)
    print(f"text commands: p99 {text[int(0.99 * (len(text) - 1))] * 1000:.0f} ms (target ≤ 1000)")
    print(f"/chart, /backtest, /set: p99 {heavy[int(0.99 * (len(heavy) - 1))] * 1000:.0f} ms (target ≤ 2000)")
    print(f"bot peak RSS {rss:.0f} MB (target ≤ 300); uploads {server.uploads}; log {tmp / 'bot.log'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
