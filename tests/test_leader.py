"""One leader among the `tic-alert run` processes on one PostgreSQL database (issue 19): the
advisory lock, the epoch that fences an old leader's sender, and what a standby says."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import pytest
from pg_proxy import Proxy
from sender_helpers import Desk
from telegram_server import TelegramServer

from bot.errors import Fenced, StoreError
from bot.notify.outbound.engine import Fence
from bot.notify.standby import Standby
from bot.status_server import StatusServer
from bot.store.db import connect
from bot.store.dialect import LOCK_SESSION_IDLE
from bot.store.leader import REGAIN_AFTER, TRUST, Leadership
from bot.store.outbox import DeliveryState, Outbox
from bot.telemetry import Telemetry


@pytest.fixture
def pg(pg_server):
    """A new PostgreSQL database's URL (dropped after the test)."""
    url = pg_server.create()
    yield url
    pg_server.drop(url)


@pytest.fixture
def process(pg):
    """process(who) → a Leadership on a connection of its own (as each `tic-alert run` has);
    all closed after the test."""
    made: list[Leadership] = []

    def make(who: str) -> Leadership:
        made.append(Leadership(connect(pg), who))
        return made[-1]

    yield make
    for leadership in made:
        leadership.close()
        leadership.db.close()


def end_session(pg_server, url: str, name: str = "tic-alert leader") -> int:
    """pg_terminate_backend of the sessions named ``name`` (by default the one holding the
    leader's lock), returning once they have ended; how many."""
    database = url.rsplit("/", 1)[1]
    rows = pg_server.sql(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
        f" WHERE datname = '{database}' AND application_name = '{name}'"
    )
    return sum(1 for (ended,) in rows if ended)


def desk_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def until(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)
    return value


def test_on_sqlite_the_files_lock_lets_one_lead_and_nothing_is_fenced(tmp_path):
    """One process per file (issue 27): the OS lock on tic.db.lock (its open file, here two
    bidders in one process; across processes: test_operator_day.py), no epoch."""
    db = connect(tmp_path / "tic.db")
    one, two = Leadership(db, "a:1"), Leadership(db, "b:2")
    assert one.try_lead()
    assert not two.try_lead()  # the first holds the file's lock
    assert two.leader().startswith("a:1 since ")
    assert one.epoch is None
    assert one.lost() is None
    one.close()
    assert two.try_lead()
    two.close()
    db.close()


def test_one_process_takes_the_lock_the_other_waits_and_takes_over_when_it_is_released(process):
    a, b = process("host-a:1"), process("host-b:2")
    assert a.try_lead()
    assert not b.try_lead()
    assert not b.try_lead()  # trying again changes nothing
    assert b.leader().startswith("host-a:1 since ")
    assert b.leader().endswith("epoch 1")
    a.close()  # the leader's session ends (as when its process exits)
    until(b.try_lead)  # the server frees the lock as the session ends (not as close() returns)
    assert b.epoch == 2  # one more at each takeover
    assert a.try_lead() is False


def test_a_leader_whose_session_was_terminated_knows_it_and_a_standby_takes_over(process, pg, pg_server):
    a, b = process("a:1"), process("b:2")
    assert a.try_lead()
    assert a.lost() is None
    assert end_session(pg_server, pg) == 1
    assert "its database session ended" in (a.lost() or "")
    until(b.try_lead)
    assert b.epoch == 2


def test_a_standby_whose_own_session_ended_says_why_and_tries_again_on_a_new_one(process, pg, pg_server):
    a, b = process("a:1"), process("b:2")
    assert a.try_lead()
    assert not b.try_lead()
    assert end_session(pg_server, pg, "tic-alert standby") == 1
    with pytest.raises(StoreError, match="terminating connection"):
        b.try_lead()
    assert not b.try_lead()  # a new session: the lock is still a's
    a.close()
    until(b.try_lead)


def test_a_paused_old_leaders_claim_fails_once_another_leads_and_it_changes_no_row(process, pg, pg_server):
    """Leader A claims a row, then is cut off (its session ended) without noticing; B takes over.
    A's next claim, the state it writes and the message it records are refused (Fenced) in the
    same statement; B recovers A's row left 'sending' and claims it."""
    a, b = process("a:1"), process("b:2")
    with TelegramServer() as server:
        desk = Desk(server, a.db)
        first, second = desk.alert(1), desk.alert(2)
    assert a.try_lead()
    old = Outbox(a.db, epoch=a.epoch)
    assert old.claim(first, now=desk_now())
    end_session(pg_server, pg)
    until(b.try_lead)
    new = Outbox(b.db, epoch=b.epoch)
    with pytest.raises(Fenced, match=r"b:2 leads since epoch 2; this process led epoch 1"):
        old.claim(second, now=desk_now())
    with pytest.raises(Fenced):  # a round's claim: one statement, fenced for every row
        old.claim_many([second, first], now=desk_now())
    with pytest.raises(Fenced):
        old.set_state(first, DeliveryState.SENT, now=desk_now())
    with pytest.raises(Fenced):
        old.sent_many([(first, (7,), ("text",), False)], now=desk_now())
    with pytest.raises(Fenced):
        old.recover()
    assert new.get(second).state == DeliveryState.PENDING
    assert new.get(first).state == DeliveryState.SENDING
    assert new.get(first).sent_ids == ()
    assert new.recover() == 1  # the dead leader's row is sent again by the new one
    assert new.claim(first, now=desk_now())
    assert new.claim(second, now=desk_now())


def test_a_fenced_sender_sends_nothing_and_steps_down(process):
    mine, theirs = process("a:1"), process("b:2")
    with TelegramServer() as server:
        desk = Desk(server, mine.db)
        for chat in (1, 2, 3):
            desk.chat(chat)
            desk.alert(chat)
        assert mine.try_lead()
        desk.outbox.epoch = mine.epoch
        mine.close()  # this process's lock is gone; another takes over before it notices
        until(theirs.try_lead)
        fenced: list[str] = []

        async def during(sender) -> None:
            sender.engine.fence = Fence(on_fenced=fenced.append)

        sender = desk.run(until=lambda: bool(fenced), during=during, timeout=10)
        assert sender.engine.closing
        assert "b:2 leads since epoch 2" in fenced[0]
        assert server.sent() == []
        assert desk.outbox.counts()["pending"] == 3


def test_a_standby_is_healthy_says_it_waits_is_not_ready_and_leads_once_the_leader_goes(process):
    a = process("host-a:1")
    assert a.try_lead()
    telemetry = Telemetry()
    status = StatusServer(
        telemetry, ("127.0.0.1", 0), [("leadership", lambda: telemetry.standby and "standby")]
    )
    standby = Standby(process("host-b:2"), telemetry, every=0.1)

    async def scenario() -> None:
        task = asyncio.create_task(standby.wait())
        await asyncio.sleep(0)  # the task has started: before its first try it already stands by
        assert telemetry.standby == "trying for the leadership"
        assert status.answer("/readyz")[:1] == (503,)
        while not telemetry.standby.startswith("waiting"):
            await asyncio.sleep(0.05)
        ok, line = telemetry.health()
        assert ok
        assert line.startswith("standby: waiting for leadership (leader: host-a:1 since ")
        assert status.answer("/healthz")[0] == 200
        assert status.answer("/readyz")[:1] == (503,)
        assert telemetry.leader._value.get() == 0
        assert not task.done()
        await asyncio.to_thread(a.close)
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert telemetry.standby is None
    assert telemetry.leader._value.get() == 1
    assert status.answer("/readyz")[0] == 200
    assert standby.leadership.epoch == 2
    status.httpd.server_close()


def test_a_leader_watching_its_lock_steps_down_at_once_when_its_session_ends_and_a_standby_waits(
    process, pg, pg_server
):
    """The server ends the lock session while a standby waits (its session named so): the leader
    steps down at once, as before issue 25, and the standby takes over."""
    leadership, standby = process("a:1"), process("b:2")
    assert leadership.try_lead()
    reasons: list[str] = []
    resumed: list[bool] = []
    stop = Standby(leadership, every=2.0).watch(reasons.append, lambda: resumed.append(True))
    assert not standby.try_lead()  # its session is now 'tic-alert standby'
    assert reasons == []  # while the session lives, nothing
    end_session(pg_server, pg)
    started = time.monotonic()
    until(lambda: reasons, timeout=5)
    assert time.monotonic() - started < 0.5  # the server hung up: noticed at once, not at the next check
    assert "its database session ended" in reasons[0]
    assert reasons[0].endswith("; 1 standby process waiting to take over")
    assert not leadership.holds() and resumed == []
    until(standby.try_lead)
    stop()


def test_a_standby_not_seen_that_takes_the_lock_first_makes_the_leader_step_down_at_its_try(
    process, pg, pg_server
):
    """A standby whose session was not named yet (as after a restart cut it too) takes the lock
    before the leader's first try (REGAIN_AFTER): the leader steps down, naming it."""
    leadership, standby = process("a:1"), process("b:2")
    assert leadership.try_lead()
    reasons: list[str] = []
    stop = Standby(leadership, every=2.0).watch(reasons.append)
    end_session(pg_server, pg)
    until(lambda: leadership.regaining, timeout=5)
    until(standby.try_lead, timeout=REGAIN_AFTER - 0.2)
    until(lambda: reasons, timeout=REGAIN_AFTER + 5)
    assert reasons[0].startswith("another process holds the lock (b:2 since ")
    stop()


def test_a_leader_whose_session_ended_with_nobody_else_leading_takes_its_lock_back_and_leads_on(
    process, pg, pg_server, caplog
):
    """Issue 25: a lost session (a server restart, or ended by hand) is not a lost leadership when
    nobody else leads: the same epoch, one warning line as it goes and one as it is back."""
    leadership = process("a:1")
    assert leadership.try_lead()
    reasons: list[str] = []
    resumed: list[float] = []
    with caplog.at_level("WARNING", logger="tic_alert.leader"):
        stop = Standby(leadership, every=1.0).watch(reasons.append, lambda: resumed.append(time.monotonic()))
        end_session(pg_server, pg)
        ended = time.monotonic()
        until(lambda: leadership.regaining, timeout=5)
        assert not leadership.holds() and leadership.lapsed() is None  # in no doubt: it knows
        until(lambda: resumed, timeout=REGAIN_AFTER + 5)
        stop()
    assert resumed[0] - ended >= REGAIN_AFTER - 0.1
    assert reasons == []
    assert leadership.holds() and leadership.epoch == 1 and not leadership.regaining
    assert leadership.lost() is None  # the new session holds the lock
    assert leadership.leader().endswith("epoch 1")
    lines = [r.getMessage() for r in caplog.records if r.name == "tic_alert.leader"]
    assert len(lines) == 2, lines
    assert "its database session ended" in lines[0] and "reconnecting for up to 60 s" in lines[0]
    assert "database session back after" in lines[1] and "leading on (epoch 1" in lines[1]


def test_regain_refuses_when_another_process_led_meanwhile_and_frees_the_lock(process, pg, pg_server):
    a, b = process("a:1"), process("b:2")
    assert a.try_lead()
    end_session(pg_server, pg)
    assert "session ended" in (a.lost() or "") and a.regaining
    until(b.try_lead)  # b leads (epoch 2), then its session ends too: the lock is free
    b.close()
    until(lambda: a.regain() is not None)
    assert "b:2 leads since epoch 2; this process led epoch 1" in (a.regain() or "")
    assert not a.holds()
    c = process("c:3")
    until(c.try_lead)  # a did not keep the lock it took back for a moment
    assert c.epoch == 3


def test_a_leader_that_cannot_reconnect_steps_down_after_the_regain_window(pg, monkeypatch):
    """The server stays away (the proxy refuses new connections): each try is a StoreError, the
    tries go on with backoff for REGAIN seconds (shortened here), then the leader steps down."""
    import bot.notify.standby as standby_module

    monkeypatch.setattr(standby_module, "REGAIN_AFTER", 0.2)
    monkeypatch.setattr(standby_module, "REGAIN", 1.5)
    with Proxy.to(pg) as proxy:
        leader = Leadership(connect(proxy.url(pg)), "a:1")
        assert leader.try_lead()
        reasons: list[str] = []
        stop = Standby(leader, every=0.5).watch(reasons.append)
        proxy.reset()
        until(lambda: leader.regaining, timeout=5)
        until(lambda: reasons, timeout=10)
        assert reasons[0].startswith("its database session ended and no new one came in 1.5 s (")
        stop()
    leader.close()
    leader.db.close()


def test_holds_says_at_once_without_a_round_trip_that_the_server_ended_the_lock_session(
    process, pg, pg_server
):
    leadership = process("a:1")
    assert leadership.try_lead()
    assert all(leadership.holds() for _ in range(100))  # a socket check each: nothing to read
    end_session(pg_server, pg)
    until(lambda: not leadership.holds(), timeout=2)  # as soon as the server has hung up
    assert "session ended" in (leadership.lost() or "")


def test_a_leader_cut_off_from_the_server_stops_before_a_standby_can_lead(process, pg):
    """A black hole between the leader and the server (tests/pg_proxy.py): its check hangs, so
    it trusts its lock TRUST s after its last answered check and no longer; the server ends the
    silent session LOCK_SESSION_IDLE s after it at the earliest, and only then can a standby lead."""
    with Proxy.to(pg) as proxy:
        leader = Leadership(connect(proxy.url(pg)), "a:1")
        standby = process("b:2")
        assert leader.try_lead()
        assert not standby.try_lead()
        led = leader.confirmed
        reasons: list[str] = []
        stop = Standby(leader, every=1.0).watch(reasons.append)
        until(lambda: leader.confirmed > led)  # the watch's first check answered
        assert reasons == [] and leader.holds()
        proxy.black_hole()
        cut = time.monotonic()
        until(lambda: not leader.holds(), timeout=TRUST + 5)
        doubt = time.monotonic()  # from here on no message starts
        until(lambda: reasons, timeout=5)
        assert "not confirmed" in reasons[0]
        assert doubt - cut <= TRUST + 0.5  # its last answered check was sent before the cut
        until(standby.try_lead, timeout=LOCK_SESSION_IDLE + 10)
        took = time.monotonic()
        assert took - doubt >= LOCK_SESSION_IDLE - TRUST - 0.5  # the leader was in doubt first
        assert took - cut <= 15.0
        stop()
    leader.close()
    leader.db.close()


def test_a_new_leader_ends_the_sessions_of_the_one_before_it(process, pg, pg_server):
    """A transaction the old leader left open (its network cut mid-write) holds row locks the new
    leader's recovery would wait for: the new leader ends the sessions named after the old one."""
    import psycopg

    who = "ip-10-0-0-1.eu-west-1.compute.internal.tic-alert-deployment-7f9c8d:9"  # > 63 bytes
    old = process(who)
    assert old.try_lead()
    stray = psycopg.connect(pg, application_name="tic-alert " + who, autocommit=True)  # the server cuts it
    stray.execute("BEGIN")
    stray.execute("UPDATE tic_alert_schema SET version = version")  # a row lock, left open
    old.close()  # its lock session ends (as the server ends a silent one)
    assert process("y:8").try_lead()
    database = pg.rsplit("/", 1)[1]

    def gone() -> bool:
        rows = pg_server.sql(
            "SELECT COUNT(*) FROM pg_stat_activity"
            f" WHERE datname = '{database}' AND application_name LIKE 'tic-alert ip-10-0-0-1.%'"
        )
        return rows[0][0] == 0

    until(gone)
    with pytest.raises(psycopg.OperationalError):
        stray.execute("SELECT 1")
    stray.close()
