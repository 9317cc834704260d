"""The release poller against the fake Treasury server over real HTTP, on a simulated clock."""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest
import schedule
from conftest import MARCH_EDITION
from poll_helpers import MFH, MFH_CSV, T1, T3, T5, SimClock, editions, et, make_poller
from treasury_server import FakeTreasury
from vintages import table5_revised

from bot.data.load import panel_from_bytes
from bot.data.sources import COMPANIONS
from bot.store.state import Store
from bot.watch.loop import run_forever
from bot.watch.outcomes import PollOutcome


@pytest.fixture(scope="module")
def eds(real_bytes):
    return editions(real_bytes, (MARCH_EDITION / "mfhhis01.txt").read_bytes())


@pytest.fixture
def clock():
    return SimClock(et(2026, 6, 18, 15, 58))  # an official release day (data for April 2026)


@pytest.fixture
def server(clock):
    with FakeTreasury(clock=clock.epoch, hang_seconds=0.5) as fake:
        yield fake


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def run(poller, clock, until: dt.datetime, step: float = 1.0):
    results = []
    while clock() < until:
        r = poller.tick()
        if r is not None:
            results.append((clock(), r))
        clock.advance(step)
    return results


def test_exactly_once_across_a_switch_with_files_appearing_in_groups(eds, clock, server, store):
    publish = et(2026, 6, 18, 16, 0, 7)
    server.publish_all(eds["2026-03"])
    server.publish(T5, eds["2026-04"][T5], publish.timestamp())
    server.publish(T3, eds["2026-04"][T3], publish.timestamp() + 120)
    server.publish(MFH, eds["2026-04"][MFH], publish.timestamp() + 300)
    server.publish(MFH_CSV, eds["2026-04"][MFH_CSV], publish.timestamp() + 300)
    panels = []
    poller, rec = make_poller(
        store,
        server.url,
        clock,
        build_panel=lambda files: panels.append(panel_from_bytes(files, ())) or panels[-1],
    )

    results = run(poller, clock, et(2026, 6, 18, 16, 50))

    new = [(at, r) for at, r in results if r.outcome == PollOutcome.NEW_RELEASE]
    assert [r.release.month for _, r in new] == ["2026-03", "2026-04"]
    assert new[0][1].release.baseline
    assert not new[1][1].release.baseline
    seen_at, found = new[1]
    assert found.release.months == ("2026-04",)
    assert dt.timedelta(0) <= seen_at - publish <= dt.timedelta(seconds=15)
    assert [r.month for r in store.releases()] == ["2026-03", "2026-04"]
    # the hand-over: once when found, again each time a companion shows it
    april = [r for r in rec.releases if r.month == "2026-04"]
    assert [tuple(f for f, _, _ in r.files) for r in april] == [(T5,), (T5, T3), (T5, T3, MFH_CSV, MFH)]
    assert april[-1].closed
    assert not april[-1].pending
    assert str(panels[-1].latest()) == "2026-04"
    done = {f.file: f.complete_at for f in store.files_of_release("2026-04")}
    assert publish + dt.timedelta(seconds=120) <= done[T3] <= publish + dt.timedelta(seconds=135)
    assert publish + dt.timedelta(seconds=300) <= done[MFH] <= publish + dt.timedelta(seconds=315)
    # polite: validators on every headline poll after the first, mostly 304s, no operator events
    heads = server.requests_for(T5)
    assert all("If-None-Match" in r.headers and "If-Modified-Since" in r.headers for r in heads[1:])
    assert sum(r.status == 304 for r in heads) >= len(heads) - 3
    assert 180 <= len(heads) <= 195  # 15:58, then every 15 s in the 15:59-16:45 window, then hourly
    assert rec.events == []


@pytest.mark.slow  # a release window with companions
def test_table1_is_watched_like_table3_and_a_release_without_it_still_closes(
    real_bytes, clock, server, store
):
    eds = editions(real_bytes, (MARCH_EDITION / "mfhhis01.txt").read_bytes(), table1=True)
    publish = et(2026, 6, 18, 16, 0, 7)
    server.publish_all(eds["2026-03"])
    server.publish(T5, eds["2026-04"][T5], publish.timestamp())
    server.publish(T3, eds["2026-04"][T3], publish.timestamp() + 60)
    server.publish(T1, eds["2026-04"][T1], publish.timestamp() + 180)
    server.publish(MFH, eds["2026-04"][MFH], publish.timestamp() + 300)
    server.publish(MFH_CSV, eds["2026-04"][MFH_CSV], publish.timestamp() + 300)
    panels = []
    poller, rec = make_poller(
        store,
        server.url,
        clock,
        build_panel=lambda files: panels.append(panel_from_bytes(files, ())) or panels[-1],
        companions=COMPANIONS,
    )
    assert T1 in COMPANIONS
    run(poller, clock, et(2026, 6, 18, 16, 50))
    april = [r for r in rec.releases if r.month == "2026-04"]
    assert [tuple(f for f, _, _ in r.files) for r in april] == [
        (T5,),
        (T5, T3),
        (T5, T3, T1),
        (T5, T3, T1, MFH_CSV, MFH),
    ]
    assert april[-1].closed
    done = {f.file: f.complete_at for f in store.files_of_release("2026-04")}
    assert publish + dt.timedelta(seconds=180) <= done[T1] <= publish + dt.timedelta(seconds=195)
    assert str(panels[-1].latest(series="equity_net")) == "2026-04"
    assert rec.events == []


@pytest.mark.slow  # a release window with companions
def test_a_release_whose_table1_never_comes_closes_without_it(real_bytes, clock, server, store):
    eds = editions(real_bytes, (MARCH_EDITION / "mfhhis01.txt").read_bytes(), table1=True)
    server.publish_all(eds["2026-03"])
    server.publish_all({n: b for n, b in eds["2026-04"].items() if n != T1})
    poller, rec = make_poller(
        store, server.url, clock, build_panel=lambda files: panel_from_bytes(files, ()), companions=COMPANIONS
    )
    run(poller, clock, et(2026, 6, 18, 17, 0))
    april = [r for r in rec.releases if r.month == "2026-04"]
    assert april[-1].closed
    assert april[-1].pending == (T1,)
    assert {f for f, _, _ in april[-1].files} == {T5, T3, MFH, MFH_CSV}


def test_hundred_polls_and_a_restart_record_one_release(eds, clock, server, db_url):
    server.publish_all(eds["2026-04"])
    path = db_url
    store = Store(path)
    poller, rec = make_poller(store, server.url, clock)
    outcomes = []
    for _ in range(100):
        outcomes.append(poller.poll().outcome)
        clock.advance(15)
    assert outcomes == [PollOutcome.NEW_RELEASE] + [PollOutcome.NOTHING] * 99
    assert len(store.releases()) == 1
    assert store.count_vintages(T5) == 1
    assert len(rec.releases) == 1
    store.close()

    store = Store(path)  # restart: a new process on the same file
    poller, rec = make_poller(store, server.url, clock)
    assert poller.poll().outcome == PollOutcome.NOTHING
    assert rec.releases == []
    assert server.seen[-1].status == 304
    # a server that ignores validators: same bytes again are "unchanged", still nothing new
    blind, rec = make_poller(store, server.url, clock, conditional=False)
    result = blind.poll()
    assert result.outcome == PollOutcome.NOTHING
    assert "unchanged" in result.message
    assert rec.releases == []
    assert len(store.releases()) == 1
    store.close()


def test_revision_is_stored_but_not_a_new_release(eds, clock, server, store):
    server.publish_all(eds["2026-04"])
    poller, rec = make_poller(store, server.url, clock)
    assert poller.poll().outcome == PollOutcome.NEW_RELEASE
    clock.advance(3600)
    server.publish(T5, table5_revised(eds["2026-04"][T5]), clock.epoch())
    result = poller.poll()
    assert result.outcome == PollOutcome.REVISION
    assert result.release.month == "2026-04"
    assert store.count_vintages(T5) == 2
    assert len(store.releases()) == 1
    assert len(rec.releases) == 1  # nothing handed on as new
    assert poller.poll().outcome == PollOutcome.NOTHING


def test_a_release_that_adds_two_months(eds, clock, server, store):
    server.publish_all(eds["2026-02"])
    poller, _ = make_poller(store, server.url, clock)
    assert poller.poll().release.month == "2026-02"
    server.publish_all(eds["2026-04"], clock.epoch() + 1)
    clock.advance(15)
    result = poller.poll()
    assert result.outcome == PollOutcome.NEW_RELEASE
    assert result.release.months == ("2026-03", "2026-04")


def test_a_stale_older_copy_is_ignored(eds, clock, server, store):
    server.publish_all(eds["2026-04"])
    poller, rec = make_poller(store, server.url, clock)
    poller.poll()
    clock.advance(15)
    server.publish(T5, eds["2026-03"][T5], clock.epoch())  # a stale cache answers
    result = poller.poll()
    assert result.outcome == PollOutcome.STALE
    assert "older than release 2026-04" in result.message
    assert store.held(T5).vintage == "2026-04"
    assert store.poll_log(T5)[0].outcome == "stale"
    clock.advance(15)
    server.publish(T5, eds["2026-04"][T5], clock.epoch())  # back to the current copy
    assert poller.poll().outcome == PollOutcome.NOTHING
    assert server.seen[-1].status == 304
    assert [r.month for r in store.releases()] == ["2026-04"]
    assert len(rec.releases) == 1


@pytest.mark.parametrize(
    ("fault", "kind"),
    [
        ("500", "status"),
        ("503", "status"),
        ("timeout", "timeout"),
        ("html200", "html"),
        ("short", "truncated"),
        ("cut", "parse"),
        ("reset", "connection"),
    ],
)
def test_faults_never_become_releases(eds, clock, server, store, fault, kind):
    server.publish_all(eds["2026-03"])
    poller, rec = make_poller(store, server.url, clock, timeout=0.25)
    poller.poll()  # baseline 2026-03
    server.publish_all(eds["2026-04"], clock.epoch() + 1)
    server.inject(T5, fault, times=4)
    for i in range(4):
        clock.advance(15)
        result = poller.poll()
        assert result.outcome == PollOutcome.ERROR, result.message
        assert f"({kind})" in result.message, result.message
        assert store.poll_log(T5)[0].outcome == "error"
        assert store.poll_log(T5)[0].detail.startswith(kind)
        assert [e.kind for e in rec.events] == ([] if i < 2 else ["failures"])  # once, at the 3rd
    assert [r.month for r in store.releases()] == ["2026-03"]
    assert store.held(T5).vintage == "2026-03"  # no body or ETag kept
    assert len(rec.releases) == 1
    clock.advance(15)
    result = poller.poll()  # the fault is gone: the release is found, the streak ends
    assert result.outcome == PollOutcome.NEW_RELEASE
    assert result.release.month == "2026-04"
    assert poller.failures == 0
    assert len(rec.events) == 1


def test_refused_connections_raise_one_operator_event(clock, store):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        poller, rec = make_poller(store, url, clock)
        results = [poller.poll() for _ in range(5)]
    assert {r.outcome for r in results} == {PollOutcome.ERROR}
    assert all("(connection)" in r.message for r in results)
    assert store.releases() == []
    assert [e.kind for e in rec.events] == ["failures"]
    assert "5 consecutive" not in rec.events[0].message
    assert "3 consecutive" in rec.events[0].message


def test_failure_streak_survives_a_restart(eds, clock, server, db_url):
    server.publish_all(eds["2026-03"])
    store = Store(db_url)
    server.inject(T5, "500", times=10)
    poller, rec = make_poller(store, server.url, clock)
    poller.poll(), poller.poll()
    poller, rec = make_poller(store, server.url, clock)
    assert poller.failures == 2
    poller.poll()
    assert [e.kind for e in rec.events] == ["failures"]
    store.close()


def test_companion_faults_are_logged_and_retried(eds, clock, server, store):
    server.publish_all(eds["2026-03"])
    poller, _ = make_poller(store, server.url, clock)
    poller.poll()
    server.publish_all(eds["2026-04"], clock.epoch() + 1)
    server.inject(T3, "html200")
    clock.advance(15)
    result = poller.poll()
    assert result.outcome == PollOutcome.NEW_RELEASE
    assert result.release.pending == (T3,)
    assert store.poll_log(T3)[0].outcome == "error"
    clock.advance(15)
    assert "slt_table3.txt shows release 2026-04" in poller.poll().message
    assert [r.month for r in store.releases()] == ["2026-03", "2026-04"]


@pytest.mark.slow  # a release window with companions
def test_a_companion_that_never_updates_closes_with_the_window(eds, clock, server, store):
    server.publish_all(eds["2026-03"])
    t = et(2026, 6, 18, 16, 2).timestamp()
    server.publish(T5, eds["2026-04"][T5], t)
    server.publish(T3, eds["2026-04"][T3], t)
    poller, rec = make_poller(store, server.url, clock)
    run(poller, clock, et(2026, 6, 18, 16, 47), step=5)
    april = poller.detected(store.release("2026-04"))
    assert april.closed
    assert april.pending == (MFH_CSV, MFH)
    assert "closed without mfhhis01.csv, mfhhis01.txt" in april.describe()
    assert store.release("2026-04").closed_at == et(2026, 6, 18, 16, 45)
    # handed over when found, and once more when it closed without mfhhis01: no more files are coming
    april = [r for r in rec.releases if r.month == "2026-04"]
    handed = [(tuple(f for f, _, _ in r.files), r.closed) for r in april]
    assert handed == [((T5, T3), False), ((T5, T3), True)]


def test_dead_man_when_a_scheduled_release_does_not_appear(eds, server, store):
    clock = SimClock(et(2026, 7, 14, 15, 50))  # official date; expects data for May 2026
    server.clock = clock.epoch
    server.publish_all(eds["2026-04"])
    poller, rec = make_poller(store, server.url, clock)
    run(poller, clock, et(2026, 7, 14, 17, 30), step=5)
    assert [e.kind for e in rec.events] == ["dead_man"]
    assert rec.events[0].key == "dead-man:2026-07-14"
    assert "2026-05" in rec.events[0].message
    assert rec.events[0].at == et(2026, 7, 14, 16, 45)


def test_hourly_polls_outside_the_window_catch_an_unscheduled_release(eds, server, store):
    clock = SimClock(et(2026, 6, 22, 9, 0))  # a Monday without a release
    server.clock = clock.epoch
    server.publish_all(eds["2026-03"])
    server.publish_all(eds["2026-04"], et(2026, 6, 22, 11, 20).timestamp())
    poller, _ = make_poller(store, server.url, clock)
    results = run(poller, clock, et(2026, 6, 22, 14, 30), step=10)
    assert [at for at, _ in results] == [et(2026, 6, 22, h) for h in (9, 10, 11, 12, 13, 14)]
    assert store.release("2026-04").first_seen == et(2026, 6, 22, 12)
    assert store.release("2026-04").closed_at == et(2026, 6, 22, 12)  # companions were already there


def test_run_forever_ticks_on_its_own_scheduler(eds, store):
    with FakeTreasury() as fake:
        fake.publish_all(eds["2026-04"])
        poller, rec = make_poller(store, fake.url, lambda: dt.datetime.now(dt.UTC))
        ticks = []
        original = poller.tick
        poller.tick = lambda: ticks.append(time.monotonic()) or original()  # type: ignore[method-assign]
        deadline = time.monotonic() + 10  # a loaded machine: the first tick parses a whole file
        run_forever(poller, 0.1, should_stop=lambda: len(ticks) >= 3 or time.monotonic() > deadline)
    assert len(ticks) >= 3 and schedule.jobs == []  # the module's global scheduler is untouched
    assert [r.month for r in store.releases()] == ["2026-04"]
    assert len(rec.releases) == 1
