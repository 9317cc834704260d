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

Drills (``--drill``): latency (issue 12: median first delivery ≤ interval + 5 s); crash (kill -9
mid-broadcast, restart); faults (both fakes fail at random); restart (between the headline and
the companions); upgrade (from a schema-2 database); and, for issue 17:

* outage: a few seconds into the broadcast the Bot API answers 502 for 30 s, then holds every
  request past the client's timeout for 30 s. Targets: lost 0, ≤ 1 duplicate per chat, last
  delivery ≤ the outage's end + the broadcast's own time (subscribers / messages_per_second).
* migration: the subscribers are groups; once each has its alert, some are migrated to
  supergroups (half announced by Telegram's service messages, half silently: the bot learns from
  a 400), then the companion files arrive. Target: every migrated group sees the update (an
  edit, or a new message in the new chat).
* flood: bench/drill_flood.py (one chat × 2,000 commands; 500 chats × /chart + /backtest while a
  quiet chat asks /next). Targets: replies lost 0, 429s 0, the quiet chat's p99 ≤ 1 s.

and, for issue 19, failover: bench/drill_failover.py (two `tic-alert run` on one PostgreSQL, the
leader killed -9 mid-broadcast in each of ``--runs`` runs, then one run where the server ends the
leader's session; ``--how partition``: the leader's network to PostgreSQL goes dark in each run).
Targets: lost 0, ≤ 1 duplicate per chat, the standby's first send ≤ 15 s after the kill; the old
leader sends nothing after its session ends, or (partition) once the standby leads.

``--db postgresql`` runs each drill on a new PostgreSQL database (a throwaway server from the
PostgreSQL binaries, tests/pg_server.py) instead of a new SQLite file.

Usage: python bench/drill.py [DATA_DIR] [--drill latency] [--subscribers 50] [--runs 1]
         [--interval 15] [--db sqlite|postgresql] [--transcript FILE]   (one chat's alert, caption and chart)
         [--keep]   (keep each run's folder: database, config, the bot's log; removed otherwise)
       python bench/drill.py --drill outage --subscribers 200 --runs 5
       python bench/drill.py --drill migration --subscribers 20
       python bench/drill.py --drill failover --how partition --subscribers 2000 --runs 10 --interval 5
       python bench/drill.py --drill flood [--commands 2000] [--chats 500]
       python bench/drill.py --drill failover --subscribers 2000 --runs 10   (PostgreSQL: always)
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import math
import os
import random
import shutil
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

from drill_flood import run as flood  # noqa: E402
from pg_server import bench_databases  # noqa: E402
from poll_helpers import MFH, MFH_CSV, T1, T3, T5, editions  # noqa: E402
from procstat import peak_rss_mb  # noqa: E402
from telegram_server import TelegramServer  # noqa: E402
from treasury_server import FakeTreasury  # noqa: E402

from bot.data.sources import REFERENCE  # noqa: E402
from bot.render.alert import anew  # noqa: E402
from bot.store.db import connect  # noqa: E402
from bot.store.outbox import Outbox  # noqa: E402
from bot.store.subscribers import Subscribers  # noqa: E402

RATE = 28  # the drills' messages_per_second
OUTAGE_502, OUTAGE_HELD = 30.0, 30.0


def write_config(tmp: Path, interval: float) -> Path:
    """The calendar and config of a drill: today a release day, a release window around now
    (polled every ``interval`` s), in ET unless the window would cross midnight there: then in
    the first of Tokyo's and UTC's time zones where it does not (the drills run at any hour)."""
    for name in ("America/New_York", "Asia/Tokyo", "UTC"):
        now = dt.datetime.now(ZoneInfo(name))
        start, end = now - dt.timedelta(minutes=2), now + dt.timedelta(minutes=40)
        if start.date() == end.date() == now.date():
            break
    calendar = tmp / "calendar.toml"
    calendar.write_text(
        f'timezone = "{name}"\nrelease_time = "16:00"\ndates = ["{now.date().isoformat()}"]\npostponed = []\n'
    )
    config = tmp / "drill.toml"
    config.write_text(
        f'[poller]\nwindow_start = "{start:%H:%M}"\nwindow_end = "{end:%H:%M}"\n'
        f'in_window_seconds = {interval}\ncalendar_file = "{calendar}"\n\n'
        f"[telegram]\nmessages_per_second = {RATE}\npoll_timeout_seconds = 2\n"
    )
    return config


def chat_ids(n: int, groups: bool) -> list[int]:
    """Private chats 1…n, or basic groups -1001…-(1000 + n)."""
    return [-(1000 + i) for i in range(1, n + 1)] if groups else list(range(1, n + 1))


def populate(db: str, chats: list[int]) -> None:
    conn = connect(db)
    subs = Subscribers(conn)
    now = dt.datetime.now(dt.UTC)
    for chat in chats:
        subs.touch(chat, "private" if chat > 0 else "group", "", now)
        subs.set_subscribed(chat, True, now)
    conn.close()


UPDATED = anew("")  # what an edit sent as a new message begins with


def is_alert(s) -> bool:
    """A release's alert (photo with caption, or its text when the photo was refused); not an edit
    sent anew because its message was gone (it says it is an update)."""
    text = s.text or ""
    return (
        s.method in ("sendPhoto", "sendMessage") and "TIC release: data for" in text and UPDATED not in text
    )


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


def old_schema_baseline(db: str, eds: dict, data: Path, url: str) -> None:
    """A database left by the previous tic-alert (schema 2: no outbox) that already holds March."""
    import bot.store.schema as dbmod
    from bot.data.fetch import make_session
    from bot.watch.calendar import load_calendar
    from bot.watch.files import PolledFiles
    from bot.watch.loop import http_fetcher
    from bot.watch.poller import Poller
    from bot.watch.settings import PollerSettings

    saved = dbmod.MIGRATIONS, dbmod.SCHEMA_VERSION
    dbmod.MIGRATIONS, dbmod.SCHEMA_VERSION = saved[0][:2], 2
    try:
        from bot.store.state import Store

        store = Store(db)
        fetcher = http_fetcher(make_session("drill"), 5.0, 20_000_000)
        files = PolledFiles(url)
        Poller(store, fetcher, files, PollerSettings(), load_calendar(), build_panel=lambda f: None).poll()
        assert store.conn.dialect.version(store.conn) == 2
        store.close()
    finally:
        dbmod.MIGRATIONS, dbmod.SCHEMA_VERSION = saved


def one_run(*args: object, keep: bool = False, **kw: object) -> dict:
    """:func:`release_day` in a fresh folder (its database, config and the bot's log)."""
    return in_folder(release_day, "tic-drill-", "run.log", keep, *args, **kw)


def in_folder(run, prefix: str, log: str, keep: bool, *args: object, **kw: object) -> dict:
    """``run(folder, *args, **kw)`` in a fresh folder under the system's temporary directory,
    removed afterwards unless ``keep`` (then the result's "log" names ``log`` in it)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        result = run(tmp, *args, **kw)
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return {**result, "log": tmp / log if keep else None}


def release_day(
    tmp: Path,
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
    outage: bool = False,
    migrate: float = 0.0,
    outage_seconds: tuple[float, float] = (OUTAGE_502, OUTAGE_HELD),
    outage_after: tuple[float, float] = (2.0, 5.0),
    request_timeout: float | None = None,
    db: str | None = None,
) -> dict:
    """One release day. ``kill_after``: kill -9 once that share of chats has its alert, then start
    again; ``term_after``: the same with SIGTERM (a clean stop); ``faults``: the Treasury and the
    Bot API fail at random; ``restart``: stop and start between the headline and the companions;
    ``old_schema``: start from a schema-2 database; ``outage``: the Bot API down ``outage_after``
    seconds (drawn) after the first delivery (``outage_seconds``: 502s, then held requests);
    ``request_timeout``: the bot's request_timeout_seconds (default: the shipped 10 s);
    ``migrate``: the chats are groups and that share of them is migrated between the alert and
    the companions; ``db``: a new, empty database (default: a SQLite file in a new folder)."""
    rng = random.Random(seed)
    db = db or str(tmp / "drill.db")
    config = write_config(tmp, interval)
    if faults:  # a client timeout shorter than the fake's hang, so "timeout" faults are real
        request_timeout = 2
    if request_timeout is not None:
        config.write_text(config.read_text() + f"request_timeout_seconds = {request_timeout}\n")
    chats = chat_ids(subscribers, groups=migrate > 0)
    with FakeTreasury(hang_seconds=3.0) as treasury, TelegramServer(seed=seed, hang_seconds=3.0) as telegram:
        telegram.limits(overall_per_s=30, per_chat_per_s=1, per_group_per_min=20)
        treasury.publish_all(eds["2026-03"])
        for name in REFERENCE:
            treasury.publish(name, (data / name).read_bytes())
        if old_schema:
            old_schema_baseline(db, eds, data, treasury.url + "/")
        populate(db, chats)
        env = {
            **os.environ,
            "TIC_ALERT_BOT_TOKEN": "42:DRILL",
            "TIC_ALERT_TELEGRAM_API_URL": telegram.base_url,
            "TIC_ALERT_DB": db,
            "TIC_ALERT_CONFIG": str(config),
        }
        bot = Bot(env, treasury.url + "/", tmp / "run.log")
        bot.start()
        stop_faults = threading.Event()
        schedule = None
        moved: dict[int, int] = {}
        try:
            check = connect(db)
            wait(lambda: check.execute("SELECT COUNT(*) FROM releases").fetchone()[0] >= 1, 60)
            switch = time.time() + rng.uniform(1, interval * 2)
            later = switch + (interval * 3 if restart else rng.uniform(interval * 1.5, spread))
            treasury.publish(T5, eds["2026-04"][T5], switch)
            if not migrate:  # the companions follow "in random groups during the next 15 minutes"
                publish_companions(treasury, eds, rng, spread, switch, later, restart, interval)
            switch_mono = time.monotonic() + (switch - time.time())
            if faults:
                telegram.fault_rate = {"5xx": 0.05, "timeout": 0.05, "429": 0.05}
                threading.Thread(
                    target=treasury_faults, args=(treasury, rng, stop_faults), daemon=True
                ).start()
            outbox = Outbox(check)

            def alerted() -> int:
                return len({s.chat_id for s in telegram.sent() if is_alert(s)})

            if outage:  # "a few seconds into the broadcast"
                wait(lambda: alerted() >= 1, 120 + interval * 2, 0.02)
                schedule = telegram.outage(rng.uniform(*outage_after), *outage_seconds)
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
            if migrate:
                wait(lambda: alerted() >= subscribers, 120 + subscribers / 10)
                moved = migrate_groups(telegram, chats, migrate, rng)
                now = time.time() + 1
                publish_companions(treasury, eds, rng, spread / 3, now, now, True, interval)

            def drained() -> bool:
                # closed, and its last state handed over (the edits of the companions' details queued)
                row = check.execute("SELECT handed_over FROM releases WHERE month = '2026-04'").fetchone()
                counts = outbox.counts("2026-04")
                final = bool(row and row[0] and '"closed": true' in row[0])
                return final and counts["pending"] == 0 and counts["sending"] == 0

            wait(drained, 240 + subscribers / 10 + (sum(outage_seconds) if outage else 0))
            stop_faults.set()
            counts = outbox.counts("2026-04")
            failed = collections.Counter(
                f"{d.kind}: {d.detail}" for d in outbox.of_release("2026-04") if d.state == "failed"
            )
            version = check.dialect.version(check)
            check.close()
        finally:
            stop_faults.set()
            bot.stop()
        home = {**{c: c for c in chats}, **{new: old for old, new in moved.items()}}
        sent = [s for s in telegram.sent(edits=True) if s.chat_id in home]
        firsts: dict[int, float] = {}
        for s in sent:
            firsts.setdefault(home[s.chat_id], s.at)
        alerts = collections.Counter(home[s.chat_id] for s in sent if is_alert(s))
        first_alerts: dict[int, float] = {}
        for s in sent:
            if is_alert(s):
                first_alerts.setdefault(home[s.chat_id], s.at)
        last_alert = max(first_alerts.values(), default=math.nan)
        false = [
            s for s in sent if is_alert(s) and ("April 2026" not in (s.text or "") or s.at < switch_mono)
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
            "failed": failed,
            "schema": version,
            "noise": stop_noise(tmp / "run.log"),
        }
        if schedule is not None:
            result["outage"] = {
                "start": schedule.start - switch_mono,
                "end": schedule.end - switch_mono,
                # the last chat's alert, after the outage's end (never, while a chat has none)
                "last_after_end": last_alert - schedule.end if len(alerts) == subscribers else math.inf,
                "after": sum(1 for t in first_alerts.values() if t >= schedule.start),
                "broadcast": subscribers / RATE,
                "answers": dict(telegram.outage_answers),
            }
        if moved:
            result["migration"] = migration_outcome(telegram, chats, moved)
        if transcript is not None:
            chat = min(alerts)
            lines = [line for line in telegram.transcript().splitlines() if f"chat {chat} " in line]
            full = [f"{s.method} #{s.message_id}:\n{s.text}" for s in telegram.sent(chat, edits=True)]
            transcript.write_text("\n".join(lines) + "\n\n" + "\n\n".join(full) + "\n")
            photo = next(s for s in telegram.sent(chat) if s.method == "sendPhoto")
            transcript.with_suffix(".png").write_bytes(telegram.file_bytes(photo.file_id))
        return result


def publish_companions(
    treasury: FakeTreasury,
    eds: dict,
    rng: random.Random,
    spread: float,
    switch: float,
    later: float,
    restart: bool,
    interval: float,
) -> None:
    """slt_table3.txt (with slt_table1.txt) and the MFH history (and its CSV twin) at random
    moments after ``switch``."""
    t3 = later if restart else switch + rng.uniform(interval * 1.5, spread)
    treasury.publish(T3, eds["2026-04"][T3], t3)
    if T1 in eds["2026-04"]:  # SLT Table 1 is published with Table 3
        treasury.publish(T1, eds["2026-04"][T1], t3)
    mfh_at = later + rng.uniform(0, spread / 3)
    treasury.publish(MFH, eds["2026-04"][MFH], mfh_at)
    treasury.publish(MFH_CSV, eds["2026-04"][MFH_CSV], mfh_at + rng.uniform(0, spread / 6))


def migrate_groups(
    telegram: TelegramServer, chats: list[int], share: float, rng: random.Random
) -> dict[int, int]:
    """Migrate ``share`` of the groups to supergroups: the first half announced, the rest silently."""
    chosen = sorted(rng.sample(chats, max(1, round(share * len(chats)))))
    return {old: telegram.migrate(old, announce=i % 2 == 0) for i, old in enumerate(chosen)}


def migration_outcome(telegram: TelegramServer, chats: list[int], moved: dict[int, int]) -> dict:
    """Did each migrated group see the update? The update is what the companions changed in the
    alert of a group that stayed (its edited lines); a migrated group sees it when a message or
    an edit in its new chat holds those lines."""
    stayed = [c for c in chats if c not in moved]
    changed: set[str] = set()
    for chat in stayed:
        versions = [s.plain or "" for s in telegram.sent(chat, edits=True)]
        if len(versions) > 1:
            changed = set(versions[-1].splitlines()) - set(versions[0].splitlines())
            break
    saw: dict[str, int] = collections.Counter()
    for i, new in enumerate(moved.values()):
        how = "none"
        for s in telegram.sent(new, edits=True):
            if changed and changed <= set((s.plain or "").splitlines()):
                how = "edit" if s.method.startswith("edit") else "new message"
        saw[f"{'announced' if i % 2 == 0 else 'silent'} {how}"] += 1
    return {"moved": len(moved), "changed_lines": len(changed), "saw": dict(saw)}


DRILLS = (
    "latency",
    "crash",
    "sigterm",
    "faults",
    "restart",
    "upgrade",
    "outage",
    "migration",
    "flood",
    "failover",
)
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
        if "outage" in r:
            o = r["outage"]
            print(
                f"    outage {o['start']:.1f} → {o['end']:.1f} s after the switch ({o['answers']}); "
                f"{o['after']} chats alerted from its start on; the last chat's alert "
                f"{_after(o['last_after_end'])} (target ≤ +{o['broadcast']:.1f} s: "
                f"{subscribers} alerts at {RATE}/s)"
            )
        if "migration" in r:
            m = r["migration"]
            print(
                f"    migrated {m['moved']} groups (half announced, half silent); the update "
                f"({m['changed_lines']} changed lines) seen: {m['saw']}"
            )
        for why, n in r["failed"].most_common():
            print(f"    failed {n} × {why}")
        if r.get("log"):
            print(f"    log {r['log']}")
    firsts = [r["first"] for r in results]
    lasts = [r["last"] for r in results]
    print(
        f"{name}: {len(results)} run(s), {subscribers} subscribers, interval {interval:g} s: first delivery "
        f"median {statistics.median(firsts):.1f} s, max {max(firsts):.1f} s; last median "
        f"{statistics.median(lasts):.1f} s, max {max(lasts):.1f} s; lost {sum(r['lost'] for r in results)}, "
        f"duplicates {sum(r['duplicates'] for r in results)} (max "
        f"{max(r['max_per_chat'] for r in results) - 1} per chat), false alerts "
        f"{sum(r['false'] for r in results)}, failed rows {sum(sum(r['failed'].values()) for r in results)}"
    )
    late = [r["outage"]["last_after_end"] for r in results if "outage" in r]
    if late:
        print(
            f"{name}: the last chat's alert vs the outage's end: median {_after(statistics.median(late))}, "
            f"max {_after(max(late))} (target ≤ +{subscribers / RATE:.1f} s)"
        )


def _after(seconds: float) -> str:
    return "never (chats lost)" if math.isinf(seconds) else f"{seconds:+.1f} s after its end"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "data_dir", nargs="?", default=str(ROOT.parent / "shared" / "data" / "tic" / "2026-07-01")
    )
    ap.add_argument(
        "--drill",
        choices=DRILLS,
        default="latency",
    )
    ap.add_argument("--subscribers", type=int, default=50)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--interval", type=float, default=15.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--spread", type=float, default=60.0, help="companions arrive within this many seconds")
    ap.add_argument("--migrate", type=float, default=0.5, help="migration: the share of groups migrated")
    ap.add_argument("--commands", type=int, default=2000, help="flood: commands from one chat")
    ap.add_argument("--chats", type=int, default=500, help="flood: chats sending /chart and /backtest")
    ap.add_argument("--quiet-every", type=float, default=3.0, help="flood: the quiet chat's /next interval")
    ap.add_argument(
        "--how",
        choices=("kill", "terminate", "partition", "reset"),
        help="failover: each run takes the leader away so (default: kill, then one terminate)",
    )
    ap.add_argument("--transcript", type=Path)
    ap.add_argument("--db", choices=("sqlite", "postgresql"), help="each run on a new database of this kind")
    ap.add_argument("--keep", action="store_true", help="keep each run's folder (database, config, log)")
    args = ap.parse_args()
    data = Path(args.data_dir)
    if args.drill == "flood":
        flood(data, args.commands, args.chats, args.quiet_every, keep=args.keep)
        return 0
    march = data.parent / "2026-03-18" / "mfhhis01.txt"
    eds = editions(lambda name: (data / name).read_bytes(), march.read_bytes(), table1=True)
    if args.drill == "failover":
        from drill_failover import failover

        if args.db == "sqlite":
            raise SystemExit("failover: two processes share one PostgreSQL database (not --db sqlite)")
        with bench_databases("postgresql", Path(tempfile.gettempdir())) as new:
            return failover(args, data, eds, new)
    if args.db != "postgresql":
        return drills(args, data, eds, lambda: None)  # each run's folder holds its SQLite file
    with bench_databases(args.db, Path(tempfile.gettempdir())) as new:
        return drills(args, data, eds, new)


def drills(args: argparse.Namespace, data: Path, eds: dict, new_database) -> int:
    rng = random.Random(args.seed)
    results = []
    for i in range(args.runs):
        kw: dict = {}
        if args.drill == "crash":
            kw["kill_after"] = rng.uniform(0.1, 0.9)
        elif args.drill == "sigterm":
            kw["term_after"] = rng.uniform(0.1, 0.9)
        elif args.drill in ("faults", "restart", "outage"):
            kw[args.drill] = True
        elif args.drill == "upgrade":
            kw["old_schema"] = True
        elif args.drill == "migration":
            kw["migrate"] = args.migrate
        transcript = args.transcript if i == 0 else None
        kw["spread"] = args.spread
        kw["db"] = new_database()
        results.append(
            one_run(
                data, eds, args.subscribers, args.interval, args.seed + i, transcript, keep=args.keep, **kw
            )
        )
        report(args.drill, results[-1:], args.interval, args.subscribers)
    print("---")
    report(args.drill, results, args.interval, args.subscribers)
    print(
        f"(latency target: median first delivery ≤ {args.interval + 5:g} s; crash: lost 0, ≤ 1 duplicate "
        "per chat per crash; faults: no false alert, nothing lost; outage: lost 0, ≤ 1 duplicate per chat, "
        "last alert ≤ outage end + the broadcast's own time; migration: every migrated group sees the update)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
