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
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from poll_helpers import MFH, T3, T5, editions  # noqa: E402
from telegram_server import TelegramServer  # noqa: E402
from treasury_server import FakeTreasury  # noqa: E402

from bot.store.db import connect  # noqa: E402
from bot.store.outbox import Outbox  # noqa: E402
from bot.store.subscribers import Subscribers  # noqa: E402

ET = ZoneInfo("America/New_York")
REFERENCE = ("s1_globl.txt",)


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


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


def one_run(data: Path, eds: dict, subscribers: int, interval: float, seed: int, transcript: Path | None):
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="tic-drill-"))
    db = tmp / "drill.db"
    populate(db, subscribers)
    config = write_config(tmp, interval)
    with FakeTreasury(hang_seconds=2.0) as treasury, TelegramServer() as telegram:
        telegram.limits(overall_per_s=30, per_chat_per_s=1, per_group_per_min=20)
        treasury.publish_all(eds["2026-03"])
        for name in REFERENCE:
            treasury.publish(name, (data / name).read_bytes())
        env = {
            **os.environ,
            "TIC_ALERT_BOT_TOKEN": "42:DRILL",
            "TIC_ALERT_TELEGRAM_API_URL": telegram.base_url,
            "TIC_ALERT_DB": str(db),
            "TIC_ALERT_CONFIG": str(config),
        }
        log = open(tmp / "run.log", "w")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--source-url", treasury.url + "/"],
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            check = connect(db)
            wait(lambda: check.execute("SELECT COUNT(*) FROM releases").fetchone()[0] >= 1, 60)
            switch = time.time() + rng.uniform(1, interval * 2)
            treasury.publish(T5, eds["2026-04"][T5], switch)
            # the companions follow "in random groups during the next 15 minutes" (here: a minute)
            treasury.publish(T3, eds["2026-04"][T3], switch + rng.uniform(interval * 1.5, 60))
            treasury.publish(MFH, eds["2026-04"][MFH], switch + rng.uniform(interval * 1.5, 60))
            switch_mono = time.monotonic() + (switch - time.time())
            outbox = Outbox(check)

            def drained() -> bool:
                rows = check.execute("SELECT closed_at FROM releases WHERE month = '2026-04'").fetchone()
                counts = outbox.counts("2026-04")
                return bool(rows and rows[0]) and counts["pending"] == 0 and counts["sending"] == 0

            wait(drained, 180 + subscribers / 10)
            rss = peak_rss_mb(proc.pid)
            counts = outbox.counts("2026-04")
            check.close()
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()
        sent = [s for s in telegram.sent(edits=True) if s.chat_id > 0]
        firsts: dict[int, float] = {}
        for s in sent:
            firsts.setdefault(s.chat_id, s.at)
        per_chat = collections.Counter(s.chat_id for s in sent if not s.method.startswith("edit"))
        edits = sum(1 for s in sent if s.method.startswith("edit"))
        result = {
            "first": min(firsts.values()) - switch_mono,
            "last": max(firsts.values()) - switch_mono,
            "chats": len(per_chat),
            "per_chat": collections.Counter(per_chat.values()),
            "edits": edits,
            "429": telegram.count_429,
            "rss": rss,
            "counts": counts,
            "log": tmp / "run.log",
        }
        if transcript is not None:
            chat = min(per_chat)
            lines = [line for line in telegram.transcript().splitlines() if f"chat {chat} " in line]
            full = [f"{s.method} #{s.message_id}:\n{s.text}" for s in telegram.sent(chat, edits=True)]
            transcript.write_text("\n".join(lines) + "\n\n" + "\n\n".join(full) + "\n")
            photo = next(s for s in telegram.sent(chat) if s.method == "sendPhoto")
            transcript.with_suffix(".png").write_bytes(telegram.file_bytes(photo.file_id))
        return result


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "data_dir", nargs="?", default=str(ROOT.parent / "shared" / "data" / "tic" / "2026-07-01")
    )
    ap.add_argument("--subscribers", type=int, default=50)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--interval", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--transcript", type=Path)
    args = ap.parse_args()
    data = Path(args.data_dir)
    march = data.parent / "2026-03-18" / "mfhhis01.txt"
    eds = editions(lambda name: (data / name).read_bytes(), march.read_bytes())
    results = []
    for i in range(args.runs):
        r = one_run(
            data, eds, args.subscribers, args.interval, args.seed + i, args.transcript if i == 0 else None
        )
        results.append(r)
        print(
            f"run {i + 1}: first delivery {r['first']:.1f} s, last {r['last']:.1f} s after the switch; "
            f"{r['chats']} chats, messages per chat {dict(r['per_chat'])}, {r['edits']} edits, "
            f"429s {r['429']}, peak RSS {r['rss']:.0f} MB, outbox {r['counts']}"
        )
    firsts = [r["first"] for r in results]
    lasts = [r["last"] for r in results]
    print(
        f"{args.runs} run(s), {args.subscribers} subscribers, in-window interval {args.interval:g} s: "
        f"first delivery median {statistics.median(firsts):.1f} s, max {max(firsts):.1f} s; "
        f"last delivery median {statistics.median(lasts):.1f} s, max {max(lasts):.1f} s "
        f"(target: median first ≤ {args.interval + 5:g} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
