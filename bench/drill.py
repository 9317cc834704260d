"""Release-day drill: `tic-alert run` as a real process, the fake Treasury switching to a new
release at a random moment inside the window, the fake Bot API counting what each chat gets.

One run: a fresh database with S subscribers; the fake Treasury (real clock) serves the vintage
before 2026-04 (derived from the real files by tests/vintages.py); `tic-alert run` starts with a
calendar whose release window is around now and polls every ``--interval`` seconds in it. Once
the baseline release is recorded, the Treasury switches slt_table5.txt to the 2026-04 vintage at
a random moment (slt_table3.txt and mfhhis01.txt follow within a minute, "in random groups"), and
the drill measures, from that moment: the first and last delivery seen by the fake Bot API
(which enforces 30 messages/s overall and 1/s per chat), messages per chat, 429s, and the bot's
peak RSS.

Usage: python bench/drill.py [DATA_DIR] [--subscribers 50] [--runs 1] [--interval 15]
         [--transcript FILE]   (one chat's alert, caption and chart, for the closing note)
Target (issue 12): median first delivery ≤ interval + 5 s.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from poll_helpers import MFH, MFH_CSV, T3, T5, editions  # noqa: E402
from procstat import peak_rss_mb  # noqa: E402
from telegram_server import TelegramServer  # noqa: E402
from treasury_server import FakeTreasury  # noqa: E402

from bot.data.sources import REFERENCE  # noqa: E402
from bot.store.db import connect  # noqa: E402
from bot.store.outbox import Outbox  # noqa: E402
from bot.store.subscribers import Subscribers  # noqa: E402

ET = ZoneInfo("America/New_York")


def write_config(tmp: Path, interval: float) -> Path:
    now = dt.datetime.now(ET)
    start = (now - dt.timedelta(minutes=2)).strftime("%H:%M")
    end = (now + dt.timedelta(minutes=40)).strftime("%H:%M")
    if end <= start:
        raise SystemExit("the drill needs 40 minutes before midnight ET; run it later")
    calendar = tmp / "calendar.toml"
    calendar.write_text(
        'timezone = "America/New_York"\nrelease_time = "16:00"\n'
        f'dates = ["{now.date().isoformat()}"]\npostponed = []\n'
    )
    config = tmp / "drill.toml"
    config.write_text(
        f'[poller]\nwindow_start = "{start}"\nwindow_end = "{end}"\nin_window_seconds = {interval}\n'
        f'calendar_file = "{calendar}"\n\n[telegram]\nmessages_per_second = 28\npoll_timeout_seconds = 2\n'
    )
    return config


def populate(db: Path, n: int) -> None:
    conn = connect(db)
    subs = Subscribers(conn)
    now = dt.datetime.now(dt.UTC)
    for chat in range(1, n + 1):
        subs.touch(chat, "private", "", now)
        subs.set_subscribed(chat, True, now)
    conn.close()


def wait(predicate, timeout: float, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise TimeoutError("the drill's condition was not met in time")


class Bot:
    """`tic-alert run` as a subprocess that can be stopped, killed and started again."""

    def __init__(self, env: dict[str, str], url: str, log: Path):
        self.env, self.url, self.log = env, url, log
        self.proc: subprocess.Popen | None = None
        self.rss = 0.0

    def start(self) -> None:
        out = open(self.log, "a")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--source-url", self.url],
            env=self.env,
            stdout=out,
            stderr=out,
        )

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        self.rss = max(self.rss, peak_rss_mb(self.proc.pid))
        if kill:
            self.proc.kill()  # kill -9: no clean-up at all
        else:
            self.proc.terminate()
        self.proc.wait(30)
        self.proc = None


def old_schema_baseline(db: Path, eds: dict, data: Path, url: str) -> None:
    """A database left by the previous tic-alert (schema 2: no outbox) that already holds March."""
    import bot.store.db as dbmod
    from bot.data.fetch import make_session
    from bot.watch.calendar import load_calendar
    from bot.watch.loop import http_fetcher
    from bot.watch.poller import Poller
    from bot.watch.settings import PollerSettings

    saved = dbmod.MIGRATIONS, dbmod.SCHEMA_VERSION
    dbmod.MIGRATIONS, dbmod.SCHEMA_VERSION = saved[0][:2], 2
    try:
        from bot.store.state import Store

        store = Store(db)
        fetcher = http_fetcher(make_session("drill"), 5.0, 20_000_000)
        Poller(store, fetcher, url, PollerSettings(), load_calendar(), build_panel=lambda f: None).poll()
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == 2
        store.close()
    finally:
        dbmod.MIGRATIONS, dbmod.SCHEMA_VERSION = saved


def one_run(
    data: Path,
    eds: dict,
    subscribers: int,
    interval: float,
    seed: int,
    transcript: Path | None = None,
    kill_after: float | None = None,
    term_after: float | None = None,
    faults: bool = False,
    restart: bool = False,
    old_schema: bool = False,
    spread: float = 60.0,
) -> dict:
    """One release day. ``kill_after``: kill -9 once that share of chats has its alert, then start
    again; ``term_after``: the same with SIGTERM (a clean stop); ``faults``: the Treasury and the
    Bot API fail at random; ``restart``: stop and start between the headline and the companions;
    ``old_schema``: start from a schema-2 database."""
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="tic-drill-"))
    db = tmp / "drill.db"
    config = write_config(tmp, interval)
    if faults:  # a client timeout shorter than the fake's hang, so "timeout" faults are real
        config.write_text(config.read_text() + "request_timeout_seconds = 2\n")
    with FakeTreasury(hang_seconds=3.0) as treasury, TelegramServer(seed=seed, hang_seconds=3.0) as telegram:
        telegram.limits(overall_per_s=30, per_chat_per_s=1, per_group_per_min=20)
        treasury.publish_all(eds["2026-03"])
        for name in REFERENCE:
            treasury.publish(name, (data / name).read_bytes())
        if old_schema:
            old_schema_baseline(db, eds, data, treasury.url + "/")
        populate(db, subscribers)
        env = {
            **os.environ,
            "TIC_ALERT_BOT_TOKEN": "42:DRILL",
            "TIC_ALERT_TELEGRAM_API_URL": telegram.base_url,
            "TIC_ALERT_DB": str(db),
            "TIC_ALERT_CONFIG": str(config),
        }
        bot = Bot(env, treasury.url + "/", tmp / "run.log")
        bot.start()
        stop_faults = threading.Event()
        try:
            check = connect(db)
            wait(lambda: check.execute("SELECT COUNT(*) FROM releases").fetchone()[0] >= 1, 60)
            switch = time.time() + rng.uniform(1, interval * 2)
            later = switch + (interval * 3 if restart else rng.uniform(interval * 1.5, spread))
            treasury.publish(T5, eds["2026-04"][T5], switch)
            # the companions follow "in random groups during the next 15 minutes" (here: a minute)
            t3 = later if restart else switch + rng.uniform(interval * 1.5, spread)
            treasury.publish(T3, eds["2026-04"][T3], t3)
            mfh_at = later + rng.uniform(0, spread / 3)
            treasury.publish(MFH, eds["2026-04"][MFH], mfh_at)
            treasury.publish(MFH_CSV, eds["2026-04"][MFH_CSV], mfh_at + rng.uniform(0, spread / 6))
            switch_mono = time.monotonic() + (switch - time.time())
            if faults:
                telegram.fault_rate = {"5xx": 0.05, "timeout": 0.05, "429": 0.05}
                threading.Thread(
                    target=treasury_faults, args=(treasury, rng, stop_faults), daemon=True
                ).start()
            outbox = Outbox(check)
            alerted = lambda: len({s.chat_id for s in telegram.sent() if s.method == "sendPhoto"})  # noqa: E731
            if kill_after is not None:
                wait(lambda: alerted() >= kill_after * subscribers, 120 + subscribers / 10, 0.02)
                bot.stop(kill=True)
                bot.start()
            if term_after is not None:
                wait(lambda: alerted() >= term_after * subscribers, 120 + subscribers / 10, 0.02)
                bot.stop()  # SIGTERM mid-broadcast
                bot.start()
            if restart:
                wait(lambda: alerted() >= subscribers, 120 + subscribers / 10)
                bot.stop()
                wait(lambda: time.time() > later, 120)
                bot.start()

            def drained() -> bool:
                # closed, and its last state handed over (the edits of the companions' details queued)
                row = check.execute("SELECT handed_over FROM releases WHERE month = '2026-04'").fetchone()
                counts = outbox.counts("2026-04")
                final = bool(row and row[0] and '"closed": true' in row[0])
                return final and counts["pending"] == 0 and counts["sending"] == 0

            wait(drained, 240 + subscribers / 10)
            stop_faults.set()
            counts = outbox.counts("2026-04")
            version = check.execute("PRAGMA user_version").fetchone()[0]
            check.close()
        finally:
            stop_faults.set()
            bot.stop()
        sent = [s for s in telegram.sent(edits=True) if s.chat_id > 0]
        firsts: dict[int, float] = {}
        for s in sent:
            firsts.setdefault(s.chat_id, s.at)
        alerts = collections.Counter(s.chat_id for s in sent if s.method == "sendPhoto")
        false = [
            s
            for s in sent
            if s.method == "sendPhoto" and ("April 2026" not in (s.text or "") or s.at < switch_mono)
        ]
        result = {
            "first": min(firsts.values()) - switch_mono if firsts else float("nan"),
            "last": max(firsts.values()) - switch_mono if firsts else float("nan"),
            "chats": len(alerts),
            "lost": subscribers - len(alerts),
            "duplicates": sum(n - 1 for n in alerts.values()),
            "max_per_chat": max(alerts.values(), default=0),
            "per_chat": collections.Counter(
                collections.Counter(s.chat_id for s in sent if not s.method.startswith("edit")).values()
            ),
            "edits": sum(1 for s in sent if s.method.startswith("edit")),
            "false": len(false),
            "429": telegram.count_429,
            "rss": bot.rss,
            "counts": counts,
            "schema": version,
            "log": tmp / "run.log",
            "noise": stop_noise(tmp / "run.log"),
        }
        if transcript is not None:
            chat = min(alerts)
            lines = [line for line in telegram.transcript().splitlines() if f"chat {chat} " in line]
            full = [f"{s.method} #{s.message_id}:\n{s.text}" for s in telegram.sent(chat, edits=True)]
            transcript.write_text("\n".join(lines) + "\n\n" + "\n\n".join(full) + "\n")
            photo = next(s for s in telegram.sent(chat) if s.method == "sendPhoto")
            transcript.with_suffix(".png").write_bytes(telegram.file_bytes(photo.file_id))
        return result


NOISE = ("Task was destroyed but it is pending", "Event loop is closed", "Traceback")


def stop_noise(log: Path) -> int:
    """Lines of the bot's log that say a stop left work behind (or anything raised)."""
    return sum(1 for line in log.read_text(errors="replace").splitlines() if any(n in line for n in NOISE))


def treasury_faults(treasury: FakeTreasury, rng: random.Random, stop: threading.Event) -> None:
    """500s, timeouts, an HTML page with 200, truncated and empty bodies, at random, until told."""
    kinds = ("500", "503", "timeout", "html200", "short", "cut", "reset")
    while not stop.is_set():
        if rng.random() < 0.5:
            treasury.inject(rng.choice((T5, T3, MFH)), rng.choice(kinds))
        stop.wait(rng.uniform(0.5, 3))


def report(name: str, results: list[dict], interval: float, subscribers: int) -> None:
    for i, r in enumerate(results, 1):
        print(
            f"  {name} {i}: first {r['first']:.1f} s, last {r['last']:.1f} s; "
            f"{r['chats']}/{subscribers} chats alerted, lost {r['lost']}, "
            f"duplicates {r['duplicates']} (max {r['max_per_chat']} per chat), "
            f"false alerts {r['false']}, edits {r['edits']}, 429s {r['429']}, peak RSS {r['rss']:.0f} MB, "
            f"schema {r['schema']}, outbox {r['counts']}, log lines of a stop left unfinished {r['noise']}"
        )
    firsts = [r["first"] for r in results]
    lasts = [r["last"] for r in results]
    print(
        f"{name}: {len(results)} run(s), {subscribers} subscribers, interval {interval:g} s: first delivery "
        f"median {statistics.median(firsts):.1f} s, max {max(firsts):.1f} s; last median "
        f"{statistics.median(lasts):.1f} s, max {max(lasts):.1f} s; lost {sum(r['lost'] for r in results)}, "
        f"duplicates {sum(r['duplicates'] for r in results)}, false alerts {sum(r['false'] for r in results)}"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "data_dir", nargs="?", default=str(ROOT.parent / "shared" / "data" / "tic" / "2026-07-01")
    )
    ap.add_argument(
        "--drill", choices=("latency", "crash", "sigterm", "faults", "restart", "upgrade"), default="latency"
    )
    ap.add_argument("--subscribers", type=int, default=50)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--interval", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--spread", type=float, default=60.0, help="companions arrive within this many seconds")
    ap.add_argument("--transcript", type=Path)
    args = ap.parse_args()
    data = Path(args.data_dir)
    march = data.parent / "2026-03-18" / "mfhhis01.txt"
    eds = editions(lambda name: (data / name).read_bytes(), march.read_bytes())
    rng = random.Random(args.seed)
    results = []
    for i in range(args.runs):
        kw: dict = {}
        if args.drill == "crash":
            kw["kill_after"] = rng.uniform(0.1, 0.9)
        elif args.drill == "sigterm":
            kw["term_after"] = rng.uniform(0.1, 0.9)
        elif args.drill in ("faults", "restart"):
            kw[args.drill] = True
        elif args.drill == "upgrade":
            kw["old_schema"] = True
        transcript = args.transcript if i == 0 else None
        kw["spread"] = args.spread
        results.append(one_run(data, eds, args.subscribers, args.interval, args.seed + i, transcript, **kw))
        report(args.drill, results[-1:], args.interval, args.subscribers)
    print("---")
    report(args.drill, results, args.interval, args.subscribers)
    print(
        f"(latency target: median first delivery ≤ {args.interval + 5:g} s; crash: lost 0, ≤ 1 duplicate "
        "per chat per crash; faults: no false alert, nothing lost)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
