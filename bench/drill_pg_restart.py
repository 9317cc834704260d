"""PostgreSQL restart drill (issue 25), `python bench/drill_pg_restart.py`: the one `tic-alert run`
process on a PostgreSQL database whose server restarts mid-broadcast.

One run: a throwaway server (tests/pg_server.py) with a new database and S subscribers; the
fake Treasury and the fake Bot API as in the other drills (bench/drill.py: 28 messages/s, 1/s per
chat). One `tic-alert run` starts and leads (nobody stands by). Once the baseline release is
recorded the Treasury publishes 2026-04; ``--after`` seconds (1) after the first alert reaches
the Bot API, ``pg_ctl restart -m MODE`` (fast: every session ended with an error; immediate:
every server process killed, crash recovery at the start). The process's lock session ends with
it; it tries for the lock again on a new session (bot/store/leader.py: ``regain``) and, nobody
else leading, leads on with the same epoch. Its statements on the pool fail meanwhile and are
retried (StoreUnavailable).

Measured per mode: the process's exit code at the end (None: still running, as it should),
chats alerted and lost, the most alerts one chat got, the seconds from the restart to the first
alert sent after it ("recovery"), the epoch at the end, and whether its log says the session
was lost and regained (and how many tracebacks it holds).

Usage: python bench/drill_pg_restart.py [DATA_DIR] [--subscribers 200] [--modes fast immediate]
         [--after 1.0] [--keep]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import itertools
import math
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import drill  # noqa: E402
from pg_server import PgServer  # noqa: E402
from poll_helpers import T5, editions  # noqa: E402
from telegram_methods import SEND_METHODS  # noqa: E402
from telegram_server import TelegramServer  # noqa: E402
from treasury_server import FakeTreasury  # noqa: E402

from bot.data.sources import REFERENCE  # noqa: E402
from bot.errors import StoreError  # noqa: E402
from bot.store.db import connect  # noqa: E402
from bot.store.outbox import Outbox  # noqa: E402

MODES = ("fast", "immediate")
LOST_LINE = "its database session ended"
BACK_LINE = "database session back after"


def one_restart(*args: object, keep: bool = False, **kw: object) -> dict:
    """:func:`release_day` in a fresh folder (config, the process's log)."""
    return drill.in_folder(release_day, "tic-pg-restart-", "run.log", keep, *args, **kw)


def asked(predicate):
    """A predicate that reads the database, False while the server is away (restarting)."""

    def ask() -> object:
        try:
            return predicate()
        except StoreError:
            return False

    return ask


def release_day(
    tmp: Path,
    data: Path,
    eds: dict,
    server: PgServer,
    mode: str = "fast",
    subscribers: int = 200,
    after: float = 1.0,
    interval: float = 2.0,
    seed: int = 7,
    spread: float = 6.0,
) -> dict:
    """One release day; the server restarted (``pg_ctl restart -m mode``) ``after`` seconds into
    the broadcast."""
    rng = random.Random(seed)
    db = server.create()
    config = drill.write_config(tmp, interval)
    chats = drill.chat_ids(subscribers, groups=False)
    with contextlib.ExitStack() as stack:
        treasury = stack.enter_context(FakeTreasury(hang_seconds=3.0))
        telegram = stack.enter_context(TelegramServer(seed=seed, hang_seconds=3.0))
        telegram.limits(overall_per_s=30, per_chat_per_s=1, per_group_per_min=20)
        treasury.publish_all(eds["2026-03"])
        for name in REFERENCE:
            treasury.publish(name, (data / name).read_bytes())
        drill.populate(db, chats)
        env = {
            **os.environ,
            "TIC_ALERT_TELEGRAM_API_URL": telegram.base_url,
            "TIC_ALERT_DB": db,
            "TIC_ALERT_CONFIG": str(config),
            "TIC_ALERT_BOT_TOKEN": "42:DRILL",
        }
        bot = drill.Bot(env, treasury.url + "/", tmp / "run.log")
        check = connect(db)
        try:
            bot.start()
            drill.wait(asked(lambda: epoch(check) == 1), 120)
            drill.wait(asked(lambda: check.execute("SELECT COUNT(*) FROM releases").fetchone()[0] >= 1), 60)
            switch = time.time() + rng.uniform(1, interval * 2)
            later = switch + rng.uniform(interval * 1.5, spread)
            treasury.publish(T5, eds["2026-04"][T5], switch)
            drill.publish_companions(treasury, eds, rng, spread, switch, later, False, interval)

            def alerts() -> list:
                return [s for s in telegram.sent() if drill.is_alert(s)]

            drill.wait(alerts, 120, 0.02)
            time.sleep(after)
            before = len({s.chat_id for s in alerts()})
            at = time.monotonic()
            server.restart(mode)
            restarted = time.monotonic()
            outbox = Outbox(check)

            def drained() -> bool:
                row = check.execute("SELECT handed_over FROM releases WHERE month = '2026-04'").fetchone()
                counts = outbox.counts("2026-04")
                final = bool(row and row[0] and '"closed": true' in row[0])
                return final and counts["pending"] == 0 and counts["sending"] == 0

            with contextlib.suppress(TimeoutError):  # what is left shows in "stuck"
                drill.wait(asked(drained), 120 + subscribers / 10)
            stuck = check.execute(
                "SELECT id, chat_id, kind, state, attempts, not_before, detail, updated_at FROM deliveries"
                " WHERE state IN ('pending', 'sending') ORDER BY id"
            ).fetchall()
            assert bot.proc is not None
            seen = {
                "mode": mode,
                "before": before,
                "restart_took": restarted - at,
                "exit": bot.proc.poll(),  # None: still running
                "counts": outbox.counts("2026-04"),
                "epoch": epoch(check),
                "stuck": stuck,
            }
        finally:
            bot.stop()
            check.close()
            with contextlib.suppress(Exception):
                server.drop(db)
        text = (tmp / "run.log").read_text(errors="replace")
        seen["lost_line"] = text.count(LOST_LINE)
        seen["back_line"] = text.count(BACK_LINE)
        seen["stepped_down"] = text.count("lost the leadership")
        seen["noise"] = drill.stop_noise(tmp / "run.log")
        return {**seen, **outcome(telegram, chats, at)}


def epoch(db) -> int:
    return int(db.execute("SELECT epoch FROM leadership").fetchone()[0])


def outcome(telegram: TelegramServer, chats: list[int], at: float) -> dict:
    """What the fake Bot API saw: alerts per chat, and the first alert sent after ``at``."""
    sent = [s for s in telegram.sent() if s.chat_id in set(chats) and drill.is_alert(s)]
    alerts = collections.Counter(s.chat_id for s in sent)
    sends = sorted(r.at for r in telegram.requests if r.method in SEND_METHODS and r.at >= at)
    # the stall: the longest pause in sending from the restart on (a send in flight at the restart
    # may reach the Bot API just after it); recovery: when sending went on after it
    times = [at, *sends]
    gaps = [(b - a, b) for a, b in itertools.pairwise(times)]
    stall, resumed = max(gaps, default=(math.inf, math.inf))
    polls = [r.at - at for r in telegram.requests if r.method == "getUpdates" and r.at >= at]
    return {
        "polls_late": sum(1 for t in polls if t >= 15.0),  # getUpdates goes on after the restart
        "chats": len(alerts),
        "lost": len(chats) - len(alerts),
        "duplicates": sum(n - 1 for n in alerts.values()),
        "max_per_chat": max(alerts.values(), default=0),
        "recovery": resumed - at,
        "stall": stall,
    }


def report(r: dict, subscribers: int) -> None:
    print(
        f"  restart -m {r['mode']} ({r['before']}/{subscribers} chats alerted before it; pg_ctl took"
        f" {r['restart_took']:.1f} s): exit code {r['exit']} (None: still running);"
        f" {r['chats']}/{subscribers} chats alerted, lost {r['lost']}, duplicates {r['duplicates']}"
        f" (max {r['max_per_chat']} per chat); sending went on {r['recovery']:.1f} s after the restart"
        f" began (no send for {r['stall']:.1f} s); epoch {r['epoch']}; outbox {r['counts']}; rows left"
        f" {len(r['stuck'])}; log: session lost {r['lost_line']}×, back {r['back_line']}×, stepped down"
        f" {r['stepped_down']}×, tracebacks {r['noise']}; getUpdates calls 15 s or more after the restart"
        f" {r['polls_late']}"
    )
    if r["stuck"]:
        print(f"    rows left pending or sending: {r['stuck'][:10]}")
    if r.get("log"):
        print(f"    log in {r['log']}")


def passed(r: dict) -> bool:
    """The targets: still running, nothing lost or left, ≤ 2 alerts a chat, the log says so."""
    running, whole = r["exit"] is None and r["stepped_down"] == 0, r["lost"] == 0 and not r["stuck"]
    told = r["lost_line"] >= 1 and r["back_line"] >= 1 and r["noise"] == 0
    return running and whole and r["max_per_chat"] <= 2 and told and r["polls_late"] > 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "data_dir", nargs="?", default=str(ROOT.parent / "shared" / "data" / "tic" / "2026-07-01")
    )
    ap.add_argument("--subscribers", type=int, default=200)
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--after", type=float, default=1.0, help="seconds into the broadcast")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep each run's folder (config, log)")
    args = ap.parse_args()
    data = Path(args.data_dir)
    march = data.parent / "2026-03-18" / "mfhhis01.txt"
    eds = editions(lambda name: (data / name).read_bytes(), march.read_bytes(), table1=True)
    results = []
    with PgServer(durable=True) as server:
        for mode in args.modes:
            results.append(
                one_restart(
                    data, eds, server, mode, args.subscribers, args.after, seed=args.seed, keep=args.keep
                )
            )
            report(results[-1], args.subscribers)
    print("---")
    print(
        "targets: still running (exit None), lost 0, at most 2 alerts per chat, the log says the session"
        " was lost and came back, no step-down"
    )
    return 0 if all(passed(r) for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
