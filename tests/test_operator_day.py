"""An operator's day (issue 27), in process: the start-up banner, one line for a poll that cannot
reach the Treasury, hand-over lines as key=value words, a 409 from getUpdates told once, the build
and newest-release series, a detection delay that is never negative, and the SQLite file's lock
held by one process at a time. (`run` processes end to end: test_operator_processes.py.)"""

from __future__ import annotations

import datetime as dt
import io
import logging
import multiprocessing
import time
from email.utils import format_datetime
from pathlib import Path

import pytest
from bot_helpers import RunningBot
from telegram_server import TelegramServer
from waits import wait_until

from bot.config import load_settings
from bot.logs import setup_logging
from bot.notify.release.dispatch import Dispatched, Queued
from bot.status_server import DatabaseCollector
from bot.store.filelock import FileLock
from bot.store.leader import Leadership
from bot.store.state import Store
from bot.telemetry import Telemetry
from bot.watch.observe import PollWatch
from bot.wiring import banner, build_poller


def logged(run) -> list[str]:  # type: ignore[no-untyped-def]
    """The lines ``run()`` writes through the CLI's own logging set-up (text, INFO)."""
    out, root = io.StringIO(), logging.getLogger()
    old_handlers, old_level = root.handlers[:], root.level
    try:
        setup_logging("info", "text", out)
        run()
    finally:
        root.handlers[:] = old_handlers
        root.setLevel(old_level)
    return out.getvalue().splitlines()


def test_the_banner_says_version_masked_database_mode_role_and_address():
    settings = load_settings(env={"TIC_ALERT_DB": "postgresql://tic:s3cret-pw@db.internal:5432/tic"})
    (line,) = logged(lambda: banner(settings, "run", "leader", None))
    print(line)
    assert "tic-alert 0.1.0 starting: mode=run" in line
    assert "database=postgresql://tic:****@db.internal:5432/tic" in line
    assert "s3cret-pw" not in line
    assert line.endswith("role=leader listen=off")


def test_a_poll_that_cannot_reach_the_treasury_is_one_line(tmp_path: Path):
    """A closed port: urllib3 retries (its own warnings silenced), three files fail; one line says
    which, why in a few words, and how many polls in a row failed, with nothing cut mid-string."""
    settings = load_settings(env={"TIC_ALERT_DB": str(tmp_path / "t.db")})
    store = Store(settings.db_path)
    watch = PollWatch(Telemetry(), settings.poller.calendar())
    poller = build_poller(settings, store, settings.rules(), "http://127.0.0.1:9/", watch=watch)

    def tick() -> None:
        started = time.monotonic()
        result = poller.poll()
        watch.after_tick(result, time.monotonic() - started)

    try:
        lines = logged(tick)
        again = logged(tick)
    finally:
        store.close()
    print("\n".join(lines + again))
    assert len(lines) == 1, lines
    (line,) = lines
    assert "WARNING tic_alert.poller: poll failed from http://127.0.0.1:9/ (1 in a row, " in line
    assert line.endswith("slt_table5.txt, slt3d_globl.csv, s1_globl.txt: Connection refused")
    assert "Retry" not in line and "HTTPConnectionPool" not in line
    assert len(again) == 1 and "(2 in a row, " in again[0]


def test_the_hand_over_line_is_words_with_key_value_fields():
    done = Dispatched(release="2026-04", chats=2000, alerts=2000, followups=0, edits=0, charts=1)

    class Rows:
        def add_chart(self, key: str, png: bytes) -> int:
            return 1

        def add_many(self, rows, now) -> None:  # type: ignore[no-untyped-def]
            pass

    queued = Queued(Rows(), dt.datetime.now(dt.UTC), {}, (), done)  # type: ignore[arg-type]
    (line,) = logged(queued.commit)
    assert line.endswith(
        "tic_alert.dispatch: handed over release=2026-04 chats=2000 alerts=2000 followups=0 edits=0 charts=1"
    )
    assert "Dispatched(" not in line


@pytest.mark.slow  # three polls answered 409, each retried after the updater's backoff
def test_a_409_conflict_from_getupdates_is_one_line_not_a_traceback_per_poll(tmp_path: Path, caplog):
    caplog.set_level(logging.DEBUG, logger="tic_alert.bot")
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db"):
        server.webhook_url = "https://elsewhere.example/hook"  # every getUpdates now answers 409
        wait_until(
            lambda: sum(r.method == "getUpdates" and r.status == 409 for r in server.requests) >= 3,
            15,
            what="three 409s",
        )
        server.webhook_url = ""
        # stop only once polling has recovered: stopped with a 409 retry in flight, the harness's
        # polling task ends with an exception asyncio reports as never retrieved (CI saw it once)
        answered = len(server.requests)
        wait_until(
            lambda: any(r.method == "getUpdates" and r.status == 200 for r in server.requests[answered:]),
            15,
            what="a getUpdates answered after the webhook is gone",
        )
    told = [r for r in caplog.records if r.levelno >= logging.WARNING and "409" in r.getMessage()]
    print([r.getMessage() for r in told])
    assert len(told) == 1
    assert told[0].getMessage().startswith("getUpdates: 409 Conflict: ")
    assert "another process polls Telegram with this bot's token" in told[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]


def test_metrics_carry_the_build_and_the_newest_release(tmp_path: Path):
    telemetry = Telemetry()
    value = telemetry.registry.get_sample_value
    assert value("tic_alert_build_info", {"version": "0.1.0"}) == 1
    store = Store(tmp_path / "t.db")
    telemetry.add_collector(DatabaseCollector(str(tmp_path / "t.db"), every=0))
    assert value("tic_alert_newest_release_month") is None  # no release yet: absent, not 0
    now = dt.datetime.now(dt.UTC)
    for month in ("2026-03", "2026-04"):
        with store.transaction():
            body = month.encode()
            vid = store.add_vintage("slt_table5.txt", body, month, month, None, None, now)
            store.add_release(month, (month,), vid, month == "2026-03", now, {}, now)
    store.close()
    assert value("tic_alert_newest_release_month") == 202604


def test_the_detection_delay_is_never_negative():
    """June 18, 2026 is a release day (4 p.m. ET = 20:00 UTC)."""
    settings = load_settings(env={})
    telemetry = Telemetry()
    watch = PollWatch(telemetry, settings.poller.calendar())
    delay = lambda: telemetry.registry.get_sample_value("tic_alert_detection_delay_seconds")  # noqa: E731
    at = lambda h, m, s=0: dt.datetime(2026, 6, 18, h, m, s, tzinfo=dt.UTC)  # noqa: E731
    watch._detected("2026-04", at(19, 48, 55))  # found 665 s early, no Last-Modified
    assert delay() == 0
    watch._detected("2026-04", at(19, 48, 55), at(19, 48, 30))  # published early: from then
    assert delay() == 25
    watch._detected("2026-04", at(20, 0, 15), at(19, 30))  # stamped before 4 p.m.: from 4 p.m.
    assert delay() == 15
    watch._detected("2026-04", at(20, 3), at(20, 2, 30))  # published late: from its publication
    assert delay() == 30
    # the header as it arrives
    lines = logged(lambda: watch._detected("2026-04", at(20, 3), _http(format_datetime(at(20, 2, 50), True))))
    assert delay() == 10
    assert lines[0].endswith("release 2026-04 detected 10.0 s after it was out")


def _http(text: str) -> dt.datetime:
    from bot.watch.observe import _http_date

    when = _http_date(text)
    assert when is not None
    return when


def _hold(path: str, ready) -> None:  # type: ignore[no-untyped-def]
    """In another process: take the lock, say so, hold it until killed (at most a minute)."""
    lock = FileLock(Path(path))
    assert lock.acquire("host-a:111 since 2026-12-08T01:00:00+00:00")
    ready.set()
    time.sleep(60)


def test_one_process_holds_a_sqlite_files_lock_and_a_dead_one_frees_it(tmp_path: Path):
    # (the holder is killed, never signalled: setting an Event a killed process waited on blocks
    # the setter for ever, in multiprocessing's Condition.notify)
    db = tmp_path / "t.db"
    store = Store(db)
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    other = ctx.Process(target=_hold, args=(str(tmp_path / "t.db.lock"), ready))
    other.start()
    try:
        assert ready.wait(60)
        mine = Leadership(store.conn, "host-b:222")
        assert not mine.leading
        assert not mine.try_lead()  # the other process holds the file
        assert mine.leader() == "host-a:111 since 2026-12-08T01:00:00+00:00"
        other.kill()  # no clean-up: the kernel frees the lock with the process
        other.join(30)
        assert mine.try_lead()
        assert mine.leader().startswith("host-b:222 since ")
        mine.close()
        again = Leadership(store.conn, "host-c:3")
        assert again.try_lead()  # closed: free again
        again.close()
    finally:
        if other.is_alive():
            other.kill()
        other.join(30)
        store.close()


def test_a_database_without_a_file_is_led_at_once():
    store = Store(":memory:")
    try:
        assert Leadership(store.conn).leading
    finally:
        store.close()
