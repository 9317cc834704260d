"""Running it as a service: /metrics moves on a release day, /healthz turns 503 when a loop stalls,
/readyz says what it reached, and the log lines are UTC, JSON on request, and token-free."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import urllib.error
import urllib.request

import pytest
from conftest import MARCH_EDITION
from poll_helpers import T5, editions
from prometheus_client.parser import text_string_to_metric_families
from release_helpers import release_day
from waits import wait_until

from bot.logs import setup_logging
from bot.status_server import DatabaseCollector, StatusServer
from bot.telemetry import Telemetry
from bot.watch.loop import run_forever
from bot.watch.observe import PollWatch
from bot.wiring import _database_problem


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def scrape(server: StatusServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics parsed by prometheus-client's own parser: (sample name, labels) → value."""
    status, text = get(f"http://{server.address}/metrics")
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture(scope="module")
def eds(real_bytes):
    return editions(real_bytes, (MARCH_EDITION / "mfhhis01.txt").read_bytes())


@pytest.mark.slow  # a release day, end to end
def test_metrics_move_on_a_release_day(tmp_path, db_url, eds):
    telemetry = Telemetry()
    with release_day(tmp_path, db=db_url, telemetry=telemetry) as day:
        watch = PollWatch(telemetry, day.poller.calendar, wall=lambda: day.clock().timestamp())
        day.poller.files.fetcher = watch.fetcher(day.poller.files.fetcher)
        telemetry.add_collector(DatabaseCollector(db_url, every=0))
        server = StatusServer(telemetry, ("127.0.0.1", 0)).start()

        def poll(seconds: float = 15) -> str:
            day.clock.advance(seconds)
            started = time.monotonic()
            result = day.poller.poll()
            watch.after_tick(result, time.monotonic() - started)
            return result.message

        try:
            before = scrape(server)
            assert ("tic_alert_polls_total", (("outcome", "new_release"),)) not in before
            day.treasury.publish_all(eds["2026-03"])
            assert "new release 2026-03" in poll(0)  # the baseline
            chats = (201, 202, 203)
            for chat in chats:
                day.subscribe(chat)
            assert "nothing new" in poll(60)  # 15:59 ET
            day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 50)
            assert "new release 2026-04" in poll(75)  # 16:00:15 ET
            detected = day.clock()
            counts = day.settle()
            after = scrape(server)
        finally:
            server.stop()
    print(
        "metrics after one release:",
        {
            k[0] + str(dict(k[1])): v
            for k, v in after.items()
            if k[0].startswith("tic_alert_") and v and not k[0].endswith(("_created", "_bucket"))
        },
    )
    assert after[("tic_alert_polls_total", (("outcome", "new_release"),))] == 2  # baseline + 2026-04
    assert after[("tic_alert_polls_total", (("outcome", "nothing_new"),))] == 1
    assert after[("tic_alert_poll_duration_seconds_count", ())] == 3
    assert after[("tic_alert_last_successful_poll_timestamp_seconds", ())] == pytest.approx(
        detected.timestamp()
    )
    # 4 p.m. ET on June 18, 2026 (a release day) → the poll that found it
    scheduled = detected.replace(hour=20, minute=0, second=0, microsecond=0)
    delay = after[("tic_alert_detection_delay_seconds", ())]
    assert delay == pytest.approx((detected - scheduled).total_seconds()) == 15
    assert counts["sent"] == len(chats)
    assert counts["failed"] == 0
    sent = after[("tic_alert_deliveries_total", (("kind", "alert"), ("state", "sent")))]
    failed = sum(
        v
        for (name, labels), v in after.items()
        if name == "tic_alert_deliveries_total" and ("state", "failed") in labels
    )
    print(f"one release, {len(chats)} chats: deliveries sent {sent:g}, failed {failed:g}")
    assert sent == len(chats)
    assert failed == 0
    assert after[("tic_alert_send_duration_seconds_count", (("kind", "alert"),))] == len(chats)
    assert after.get(("tic_alert_telegram_429_total", ()), 0) == 0
    assert after[("tic_alert_outbox_rows", (("kind", "alert"), ("state", "sent")))] == len(chats)
    assert ("tic_alert_outbox_rows", (("kind", "alert"), ("state", "failed"))) not in after
    assert after[("tic_alert_outbox_queue_depth", ())] == 0
    assert after[("tic_alert_subscribers", (("state", "active"),))] == len(chats)
    assert after[("tic_alert_database_up", ())] == 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_healthz_names_the_loop_that_stalled():
    clock = Clock()
    telemetry = Telemetry(clock)
    telemetry.expect("poller", 300)
    telemetry.expect("bot", 60)
    server = StatusServer(telemetry, ("127.0.0.1", 0)).start()
    try:
        clock.now += 50
        telemetry.beat("bot")
        assert get(f"http://{server.address}/healthz") == (
            200,
            "ok: bot ticked 0 s ago, poller ticked 50 s ago\n",
        )
        clock.now += 270  # the poller has not ticked for 320 s
        telemetry.beat("bot")
        status, line = get(f"http://{server.address}/healthz")
        assert status == 503
        assert line == "poller loop stalled: last tick 320 s ago (limit 300 s)\n"
        telemetry.beat("poller")
        assert get(f"http://{server.address}/healthz")[0] == 200
        assert get(f"http://{server.address}/nothing")[0] == 404
    finally:
        server.stop()


@pytest.mark.slow  # the real loop waits out its 2 s limit (the same on a fake clock: the test above)
def test_healthz_goes_503_while_the_real_poll_loop_is_stuck():
    """The real loop (run_forever) around a poll that hangs: 503 while it hangs, 200 after."""
    release = threading.Event()
    hanging = threading.Event()

    class HangingPoller:
        calls = 0

        def tick(self):
            self.calls += 1
            if self.calls == 3:
                hanging.set()
                release.wait(30)
            return None

    telemetry = Telemetry()
    telemetry.expect("poller", 2.0)  # room for a loaded machine between the hang and the first look
    stop = threading.Event()
    watch = PollWatch(telemetry, calendar=None)  # type: ignore[arg-type]
    loop = threading.Thread(target=run_forever, args=(HangingPoller(), 0.05, stop.is_set, watch.after_tick))
    server = StatusServer(telemetry, ("127.0.0.1", 0)).start()
    loop.start()
    try:
        assert hanging.wait(10)
        assert get(f"http://{server.address}/healthz")[0] == 200  # stuck for less than its limit so far
        status, line = wait_until(  # its 2 s limit passes
            lambda: (answer := get(f"http://{server.address}/healthz"))[0] != 200 and answer,
            what="/healthz no longer 200",
            every=0.1,
        )
        print(f"stuck poll loop: {status} {line.strip()}")
        assert status == 503
        assert line.startswith("poller loop stalled: last tick")
        release.set()
        deadline = time.monotonic() + 10
        while get(f"http://{server.address}/healthz")[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        release.set()
        stop.set()
        loop.join(10)
        server.stop()


def test_readyz_says_what_is_not_reached(tmp_path):
    telemetry = Telemetry()
    missing = tmp_path / "nowhere" / "tic.db"
    checks = [("database", lambda: _database_problem(str(missing)))]
    server = StatusServer(telemetry, ("127.0.0.1", 0), checks).start()
    try:
        status, line = get(f"http://{server.address}/readyz")
    finally:
        server.stop()
    assert status == 503
    assert line.startswith("not ready: database: ")
    assert "no database there yet" in line
    assert not missing.parent.exists()  # a probe never creates the database or its folder


def test_a_client_that_hangs_up_mid_answer_costs_one_debug_line_not_a_traceback(caplog, capfd):
    """A scraper that sends its request and closes (with a RST) before reading a big /metrics
    answer: the write fails (BrokenPipe or ConnectionReset), and that is one debug line."""
    import socket
    import struct

    from prometheus_client.core import GaugeMetricFamily

    telemetry = Telemetry()
    gone = threading.Event()

    class Big:
        def collect(self):
            gone.wait(10)  # the answer is written once the client has hung up
            family = GaugeMetricFamily("tic_alert_test_big", "padding", labels=["n"])
            for n in range(100_000):  # ~4 MB of text: more than the socket's buffers take
                family.add_metric([f"{n:08d}"], n)
            yield family

    telemetry.registry.register(Big())
    server = StatusServer(telemetry, ("127.0.0.1", 0)).start()
    try:
        with caplog.at_level(logging.DEBUG, logger="tic_alert.http"):
            host, port = server.address.rsplit(":", 1)
            client = socket.create_connection((host, int(port)))
            client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()  # without reading a byte
            gone.set()
            wait_until(lambda: any("hung up" in r.getMessage() for r in caplog.records), what="the line")
            assert get(f"http://{server.address}/healthz")[0] == 200  # it serves on
    finally:
        server.stop()
    lines = [r for r in caplog.records if r.name == "tic_alert.http" and "hung up" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.DEBUG and lines[0].exc_info is None
    # the server's own traceback (socketserver prints it for a handler that raised); not any
    # "Traceback" or error name: in the whole suite a handler an earlier test left on a closed
    # stream prints a "--- Logging error ---" traceback (with the reset being handled) for every
    # debug line
    assert "Exception occurred during processing of request" not in capfd.readouterr().err
    assert not any(r.levelno >= logging.WARNING for r in caplog.records if r.name == "tic_alert.http")


def test_metrics_read_the_database_once_per_interval_however_hard_it_is_scraped(monkeypatch):
    """50 scrapes within a second (5 threads at once: those that come while it reads wait for that
    reading): one census; a scrape after the interval reads again; a failure is kept as long."""
    import bot.status_server as status_module
    from bot.errors import StoreUnavailable
    from bot.store.census import Census

    calls: list[str] = []
    failing = False

    def counting(db: str) -> Census:
        calls.append(db)
        if failing:
            raise StoreUnavailable("db: the server is away", "the database server cannot be reached")
        return Census(
            {"active": 3, "stopped": 0, "blocked": 0}, 0, "2026-04", {("sent", "alert"): 3}, "2026-04"
        )

    monkeypatch.setattr(status_module, "census", counting)
    now = [100.0]
    telemetry = Telemetry()
    telemetry.add_collector(DatabaseCollector("db", clock=lambda: now[0]))
    server = StatusServer(telemetry, ("127.0.0.1", 0)).start()
    try:
        started = time.monotonic()
        answers: list[dict] = []

        def scrapes() -> None:
            for _ in range(10):
                answers.append(scrape(server))

        threads = [threading.Thread(target=scrapes) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert time.monotonic() - started < 5.0
        assert len(answers) == 50 and calls == ["db"]
        assert all(a[("tic_alert_subscribers", (("state", "active"),))] == 3 for a in answers)
        now[0] += status_module.CENSUS_SECONDS  # the reading is 5 s old: the next scrape reads again
        failing = True
        assert scrape(server)[("tic_alert_database_up", ())] == 0
        assert scrape(server)[("tic_alert_database_up", ())] == 0
        assert len(calls) == 2  # the failure is kept for the interval as well
    finally:
        server.stop()


def test_log_lines_are_utc_iso_and_json_on_request():
    out = io.StringIO()
    root = logging.getLogger()
    old_handlers, old_level = root.handlers[:], root.level
    try:
        setup_logging("info", "json", out)
        logging.getLogger("tic_alert.poller").info(
            "poll %s: %s", "slt_table5.txt", "nothing_new", extra={"file": "slt_table5.txt", "status": 304}
        )
        logging.getLogger("tic_alert.poller").debug("not at info")
        setup_logging("info", "text", out)
        logging.getLogger("tic_alert.poller").warning("plain")
    finally:
        root.handlers[:] = old_handlers
        root.setLevel(old_level)
    first, second = out.getvalue().splitlines()
    line = json.loads(first)
    assert line["message"] == "poll slt_table5.txt: nothing_new"
    assert line["status"] == 304
    assert line["time"].endswith("+00:00")
    assert line["level"] == "INFO"
    assert line["logger"] == "tic_alert.poller"
    assert second.split(" ", 1)[0].endswith("+00:00")
    assert second.endswith("WARNING tic_alert.poller: plain")


@pytest.mark.slow  # a release day with faults
def test_the_sender_counts_429s_retries_and_blocked_chats_and_logs_each_delivery(
    tmp_path, db_url, eds, caplog
):
    telemetry = Telemetry()
    caplog.set_level(logging.INFO, logger="tic_alert.sender")
    with release_day(tmp_path, db=db_url, telemetry=telemetry) as day:
        day.treasury.publish_all(eds["2026-03"])
        day.poll(0)
        for chat in (301, 302, 303):
            day.subscribe(chat)
        day.telegram.fail_next("sendPhoto", 429, parameters={"retry_after": 1}, chat_id=301)
        day.telegram.blocked_chats.add(302)
        day.telegram.fail_next("sendPhoto", 502, chat_id=303)
        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        day.poll()
        counts = day.settle(30)
    value = telemetry.registry.get_sample_value
    got = {
        "sent": value("tic_alert_deliveries_total", {"state": "sent", "kind": "alert"}),
        "blocked": value("tic_alert_deliveries_total", {"state": "blocked", "kind": "alert"}),
        "429s": value("tic_alert_telegram_429_total"),
        "retries": value("tic_alert_delivery_retries_total"),
    }
    lines = [r for r in caplog.records if r.getMessage().startswith("delivery ")]
    print(f"sender metrics: {got}; outbox {counts}; log lines: {[r.getMessage() for r in lines]}")
    # the 429 comes back to the sender (python-telegram-bot's limiter retries none: one policy,
    # classify, and the Pacer's pause), counted by the limiter; the 429 and the 502 are retried
    assert got == {"sent": 2, "blocked": 1, "429s": 1, "retries": 2}
    assert counts["sent"] == 2
    assert counts["blocked"] == 1
    outcomes = sorted((r.chat, r.outcome, r.attempt) for r in lines)  # type: ignore[attr-defined]
    assert outcomes == [
        (301, "retry", 1),  # a 429 is no failed attempt
        (301, "sent", 1),
        (302, "blocked", 1),
        (303, "retry", 1),
        (303, "sent", 2),
    ]
    assert all(r.release == "2026-04" and r.kind == "alert" for r in lines)  # type: ignore[attr-defined]
