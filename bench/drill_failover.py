"""Failover drill (issue 19), `python bench/drill.py --drill failover`: two `tic-alert run`
processes on one PostgreSQL database, the leader taken away mid-broadcast.

One run: a new database with S subscribers; the fake Treasury and the fake Bot API as in the
other drills (bench/drill.py: 30 messages/s overall, 1/s per chat). Process A starts and leads;
process B starts and stands by. Once the baseline release is recorded the Treasury publishes
2026-04 at a random moment; when a random share (10–90 %) of the chats has its alert, the leader
is taken away:

* ``kill``: ``kill -9`` of A (its sessions end with it; no clean-up at all);
* ``terminate``: the server ends A's lock session (``pg_terminate_backend``); A lives on;
* ``partition``: A reaches PostgreSQL through a TCP proxy (tests/pg_proxy.py; B connects
  directly), which turns into a black hole: nothing forwarded either way, no socket closed, as
  a pulled cable. A lives on, and cannot learn whether it still leads: it must stop by itself
  before B can lead (the lock's trust, bot/store/leader.py: 6 s after its last answered check;
  the server ends the silent session 8 s after it at the earliest);
* ``reset``: the same proxy closes A's connections with a RST instead (A learns at once).

The two processes run with different bot tokens (both accepted by the fake), so every Bot API
call is known to be A's or B's. Measured: chats alerted, lost, duplicates (most alerts one chat
got), B's first send after the moment (target ≤ 15 s), A's sends after it (terminate: target 0;
partition: A's sends after B took the lock, and after B's first send, target 0; when A's last
send and B's taking the lock came, from the moment),
getUpdates calls by B while standing by and by A after the moment (terminate: A's last, with
timeout 0, marks the updates it handled as read; it must come before B's first poll), A's
exit code (terminate: it steps down and exits with an error, 2), 429s (B's pacer does not know
A's last sends: a chat A wrote to in its last second may answer B's first message with a 429),
the epoch at the end, tracebacks in A's log, and what B's /healthz and /readyz answered while it
stood by and once it led.
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import random
import socket
import statistics
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import drill
import psycopg
from pg_proxy import Proxy
from poll_helpers import T5
from telegram_methods import SEND_METHODS
from telegram_server import TelegramServer
from treasury_server import FakeTreasury

from bot.data.sources import REFERENCE
from bot.store.db import connect
from bot.store.outbox import Outbox

TOKENS = {"A": "42:DRILL-A", "B": "42:DRILL-B"}
TARGET_FIRST_SEND = 15.0
HOWS = ("kill", "terminate", "partition", "reset")


def leader_pid(db) -> int | None:
    """The pid in the leadership row (holder host:pid), or None before anyone led."""
    epoch, who = db.execute("SELECT epoch, holder FROM leadership").fetchone()
    return int(who.rsplit(":", 1)[1]) if epoch else None


def sessions(url: str, name: str) -> int:
    """Sessions on the database whose application_name is ``name``."""
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
            (database, name),
        ).fetchone()[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def status(port: int, path: str) -> str:
    """A status endpoint's answer: "CODE first line"."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
            return f"{answer.status} {answer.read().decode().strip()}"
    except urllib.error.HTTPError as err:
        return f"{err.code} {err.read().decode().strip()}"
    except OSError as err:  # not listening (yet)
        return f"down: {err}"


def end_leader_session(url: str) -> int:
    """pg_terminate_backend of the session holding the leader's lock, returning once its backend
    has exited (PostgreSQL 14+ waits, given a timeout); how many ended."""
    database = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
            " WHERE datname = %s AND application_name = 'tic-alert leader'",
            (database,),
        ).fetchall()
    return sum(1 for (ended,) in rows if ended)


def one_failover(*args: object, keep: bool = False, **kw: object) -> dict:
    """:func:`release_day` in a fresh folder (config, the two processes' logs)."""
    return drill.in_folder(release_day, "tic-failover-", "", keep, *args, **kw)


def release_day(
    tmp: Path,
    data: Path,
    eds: dict,
    subscribers: int,
    interval: float,
    seed: int,
    db: str,
    how: str = "kill",
    spread: float = 60.0,
) -> dict:
    """One release day with a leader and a standby; the leader taken away (``how``: one of
    :data:`HOWS`) once a random share of the chats has its alert."""
    rng = random.Random(seed)
    config = drill.write_config(tmp, interval)
    chats = drill.chat_ids(subscribers, groups=False)
    with contextlib.ExitStack() as stack:
        treasury = stack.enter_context(FakeTreasury(hang_seconds=3.0))
        telegram = stack.enter_context(TelegramServer(seed=seed, hang_seconds=3.0))
        proxy = stack.enter_context(Proxy.to(db)) if how in ("partition", "reset") else None
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
        }
        ports = {name: free_port() for name in TOKENS}  # each process's /healthz and /readyz
        path = {"A": proxy.url(db) if proxy else db, "B": db}  # A through the proxy, if any
        bots = {
            name: drill.Bot(
                {
                    **env,
                    "TIC_ALERT_DB": path[name],
                    "TIC_ALERT_BOT_TOKEN": token,
                    "TIC_ALERT_HTTP": f"127.0.0.1:{ports[name]}",
                },
                treasury.url + "/",
                tmp / f"{name}.log",
            )
            for name, token in TOKENS.items()
        }
        check = connect(db)
        a, b = bots["A"], bots["B"]
        try:
            a.start()
            assert a.proc is not None
            a_pid = a.proc.pid
            drill.wait(lambda: leader_pid(check) == a_pid, 120)
            b.start()
            drill.wait(lambda: sessions(db, "tic-alert standby") >= 1, 120)
            # its session opens before its first try for the lock; what it says once it has tried:
            drill.wait(lambda: "waiting for leadership" in status(ports["B"], "/healthz"), 30)
            standing = {path: status(ports["B"], path) for path in ("/healthz", "/readyz")}
            drill.wait(lambda: check.execute("SELECT COUNT(*) FROM releases").fetchone()[0] >= 1, 60)
            switch = time.time() + rng.uniform(1, interval * 2)
            later = switch + rng.uniform(interval * 1.5, spread)
            treasury.publish(T5, eds["2026-04"][T5], switch)
            drill.publish_companions(treasury, eds, rng, spread, switch, later, False, interval)

            def alerted() -> int:
                return len({s.chat_id for s in telegram.sent() if drill.is_alert(s)})

            share = rng.uniform(0.1, 0.9)
            drill.wait(lambda: alerted() >= share * subscribers, 120 + subscribers / 10, 0.02)
            at = time.monotonic()
            if how == "kill":
                a.stop(kill=True)
            elif proxy is None:
                assert end_leader_session(db) == 1, "one leader session to end"
            elif how == "partition":
                proxy.black_hole()
            else:
                proxy.reset()
            ended = time.monotonic()  # dead, its session ended on the server, or its network cut
            took = drill.wait(lambda: epoch(check) > 1 and time.monotonic(), 120, 0.02) - at
            outbox = Outbox(check)

            def drained() -> bool:
                row = check.execute("SELECT handed_over FROM releases WHERE month = '2026-04'").fetchone()
                counts = outbox.counts("2026-04")
                final = bool(row and row[0] and '"closed": true' in row[0])
                return final and counts["pending"] == 0 and counts["sending"] == 0

            drill.wait(drained, 240 + subscribers / 10)
            seen = {
                "how": how,
                "share": share,
                "took": took,
                "a_exit": exit_code(a),  # terminate, partition: A steps down (2)
                "counts": outbox.counts("2026-04"),
                "epoch": epoch(check),
                "standby_status": standing,
                "leader_status": {path: status(ports["B"], path) for path in ("/healthz", "/readyz")},
            }
        finally:
            for bot in bots.values():
                bot.stop()
            check.close()
        seen["noise"] = drill.stop_noise(tmp / "A.log")
        return {**seen, **outcome(telegram, chats, at, ended, at + took)}


def epoch(db) -> int:
    return int(db.execute("SELECT epoch FROM leadership").fetchone()[0])


def exit_code(bot: drill.Bot) -> int | str:
    """The old leader's exit code (waiting up to a minute), "killed", or that it still runs."""
    if bot.proc is None:
        return "killed"
    try:
        return bot.proc.wait(60)
    except subprocess.TimeoutExpired:
        bot.stop(kill=True)
        return "still running a minute later (killed)"


def outcome(telegram: TelegramServer, chats: list[int], at: float, ended: float, took: float) -> dict:
    """What the fake Bot API saw, by process, before and after ``at`` (the leader taken away:
    its kill, or the call that ends its session, which returns at ``ended``; B seen leading at
    ``took``)."""
    sent = [s for s in telegram.sent() if s.chat_id in set(chats)]
    alerts = collections.Counter(s.chat_id for s in sent if drill.is_alert(s))
    calls = [r for r in telegram.requests if r.method in SEND_METHODS]
    by = {name: [r for r in calls if r.token == token] for name, token in TOKENS.items()}
    b_after = [r.at for r in by["B"] if r.at >= at]
    polls = [r for r in telegram.requests if r.method == "getUpdates"]
    b_first_poll = min((r.at for r in polls if r.token == TOKENS["B"]), default=math.inf)
    return {
        "chats": len(alerts),
        "lost": len(chats) - len(alerts),
        "duplicates": sum(n - 1 for n in alerts.values()),
        "max_per_chat": max(alerts.values(), default=0),
        "first_after": min(b_after) - at if b_after else math.inf,
        "a_sends_after": sum(1 for r in by["A"] if r.at > ended),
        "a_last_after": max((r.at for r in by["A"]), default=-math.inf) - at,
        "a_after_takeover": sum(1 for r in by["A"] if r.at >= took),
        "a_after_b_first": sum(1 for r in by["A"] if b_after and r.at >= min(b_after)),
        "b_sends_before": sum(1 for r in by["B"] if r.at < at),
        "b_polls_before": sum(1 for r in polls if r.token == TOKENS["B"] and r.at < at),
        "a_polls_after": sum(1 for r in polls if r.token == TOKENS["A"] and r.at > ended),
        "overlap": sum(1 for r in polls if r.token == TOKENS["A"] and r.at > b_first_poll),
        "429": telegram.count_429,
    }


def report(n: int, r: dict, subscribers: int) -> None:
    print(
        f"  failover {n} ({r['how']} at {r['share']:.0%} alerted): {r['chats']}/{subscribers} chats"
        f" alerted, lost {r['lost']}, duplicates {r['duplicates']} (max {r['max_per_chat']} alerts per"
        f" chat); the standby's first send {r['first_after']:.1f} s after the {r['how']}; the old"
        f" leader's sends after it {r['a_sends_after']}; the standby's sends before it"
        f" {r['b_sends_before']}, its getUpdates before it {r['b_polls_before']}; the old leader's"
        f" getUpdates after it {r['a_polls_after']} ({r['overlap']} after the standby's first);"
        f" the old leader's exit {r['a_exit']}; 429s {r['429']}; epoch {r['epoch']}; outbox {r['counts']};"
        f" tracebacks in the old leader's log {r['noise']}"
    )
    if r["how"] in ("partition", "reset"):
        print(
            f"    the standby led {r['took']:.1f} s after the {r['how']}; the old leader's last send"
            f" {r['a_last_after']:+.1f} s from it; its sends after the standby led {r['a_after_takeover']},"
            f" after the standby's first send {r['a_after_b_first']}"
        )
    if r.get("log"):
        print(f"    logs in {r['log']}")
    for role in ("standby", "leader"):
        print(f"    B as {role}: " + "; ".join(f"{p} {a}" for p, a in r[f"{role}_status"].items()))


def summary(results: list[dict], subscribers: int) -> None:
    firsts = [r["first_after"] for r in results]
    after = sum(r["a_sends_after"] for r in results)
    kinds = ", ".join(sorted({r["how"] for r in results}))
    print(
        f"failover: {len(results)} run(s) ({kinds}), {subscribers} subscribers: lost"
        f" {sum(r['lost'] for r in results)}, duplicates {sum(r['duplicates'] for r in results)} (max"
        f" {max(r['max_per_chat'] for r in results)} alerts per chat); the standby's first send after the"
        f" leader went: median {statistics.median(firsts):.1f} s, max {max(firsts):.1f} s (target ≤"
        f" {TARGET_FIRST_SEND:g} s); the old leader's sends after it {after}"
        f"; the standby's getUpdates before it {sum(r['b_polls_before'] for r in results)}"
    )
    if kinds in ("partition", "reset"):
        lasts, took = [r["a_last_after"] for r in results], [r["took"] for r in results]
        print(
            f"{kinds}: the old leader's last send {min(lasts):+.1f}…{max(lasts):+.1f} s from the {kinds};"
            f" the standby led {min(took):.1f}…{max(took):.1f} s after it; the old leader's sends after"
            f" the standby led {sum(r['a_after_takeover'] for r in results)}, after its first send"
            f" {sum(r['a_after_b_first'] for r in results)}; its exits"
            f" {dict(collections.Counter(str(r['a_exit']) for r in results))}"
        )


def failover(args, data: Path, eds: dict, new_database) -> int:
    """``--runs`` kill -9 runs, then one pg_terminate_backend run; or ``--runs`` runs of ``--how``."""
    rng = random.Random(args.seed)
    results: list[dict] = []
    for how in ["kill"] * args.runs + ["terminate"] if args.how is None else [args.how] * args.runs:
        seed = rng.randrange(10**6)
        db = new_database()
        results.append(
            one_failover(
                data, eds, args.subscribers, args.interval, seed, db, how, args.spread, keep=args.keep
            )
        )
        report(len(results), results[-1], args.subscribers)
    print("---")
    for how in HOWS:
        if any(r["how"] == how for r in results):
            summary([r for r in results if r["how"] == how], args.subscribers)
    print(
        f"(targets: lost 0, at most 2 alerts per chat, the standby's first send ≤ {TARGET_FIRST_SEND:g} s"
        " after the kill; terminate: the old leader sends nothing after it and exits 2, the standby finishes;"
        " partition: the old leader sends nothing once the standby leads, and exits 2)"
    )
    return 0
