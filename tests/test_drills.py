"""Small versions of bench/drill.py: `tic-alert run` as a real process on a release day."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from conftest import MARCH_EDITION
from poll_helpers import editions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import drill

from bot.store.db import SCHEMA_VERSION
from bot.store.dialect import LOCK_SESSION_IDLE
from bot.store.leader import TRUST

pytestmark = pytest.mark.slow  # `tic-alert run` processes on a release day, killed and failed over: minutes


@pytest.fixture(scope="module")
def eds(real_bytes):
    # today's Treasury directory: SLT Table 1 too (a companion, published with Table 3)
    return editions(real_bytes, (MARCH_EDITION / "mfhhis01.txt").read_bytes(), table1=True)


def run(tic_dir, eds, **kw):
    return drill.one_run(tic_dir, eds, subscribers=20, interval=2.0, seed=7, spread=6.0, **kw)


def test_latency_every_chat_alerted_once_within_an_interval_and_a_bit(tic_dir, eds, tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the drill makes its folder
    r = run(tic_dir, eds)
    assert list(tmp_path.glob("tic-drill-*")) == []  # removed: no --keep
    assert r["log"] is None
    assert r["lost"] == 0
    assert r["duplicates"] == 0
    assert r["false"] == 0
    assert r["429"] == 0
    assert r["first"] <= 2.0 + 5.0
    assert r["schema"] == SCHEMA_VERSION


def test_kill_9_mid_broadcast_loses_nothing(tic_dir, eds):
    r = run(tic_dir, eds, kill_after=0.5)
    assert r["lost"] == 0
    assert r["max_per_chat"] <= 2
    assert r["false"] == 0


def test_tic_alert_run_on_postgresql_alerts_every_chat_once_and_a_kill_9_loses_nothing(
    tic_dir, eds, pg_server
):
    r = run(tic_dir, eds, db=pg_server.create())
    assert r["lost"] == 0 and r["duplicates"] == 0 and r["false"] == 0 and r["429"] == 0
    assert r["first"] <= 2.0 + 5.0 and r["schema"] == SCHEMA_VERSION and r["counts"]["failed"] == 0
    r = run(tic_dir, eds, kill_after=0.5, db=pg_server.create())
    assert r["lost"] == 0 and r["max_per_chat"] <= 2 and r["false"] == 0


def test_faults_on_both_sides_make_no_false_alert_and_lose_nothing(tic_dir, eds):
    r = run(tic_dir, eds, faults=True)
    assert r["lost"] == 0
    assert r["false"] == 0


def test_restart_between_headline_and_companions_and_an_old_database(tic_dir, eds):
    r = run(tic_dir, eds, restart=True)
    assert r["lost"] == 0
    assert r["duplicates"] == 0
    assert r["edits"] >= 1
    r = run(tic_dir, eds, old_schema=True)
    assert r["lost"] == 0
    assert r["duplicates"] == 0
    assert r["schema"] == SCHEMA_VERSION


# --- issue 17: never lose an alert -------------------------------------------------------------


def test_an_outage_mid_broadcast_loses_nothing_and_catches_up(tic_dir, eds):
    r = run(
        tic_dir, eds, outage=True, outage_seconds=(10.0, 10.0), outage_after=(0.2, 0.3), request_timeout=1.0
    )
    assert r["lost"] == 0
    assert r["max_per_chat"] <= 2
    assert r["false"] == 0
    assert not r["failed"]
    assert r["outage"]["last_after_end"] <= r["outage"]["broadcast"] + 5.0  # 5 s: a busy 2-core machine


def test_groups_migrated_between_the_alert_and_its_edit_see_the_update(tic_dir, eds):
    r = drill.one_run(tic_dir, eds, subscribers=4, interval=2.0, seed=7, spread=6.0, migrate=0.5)
    assert r["lost"] == 0
    assert r["migration"]["moved"] == 2
    assert r["migration"]["changed_lines"] > 0
    assert not any(how.endswith("none") for how in r["migration"]["saw"]), r["migration"]["saw"]
    assert not r["failed"]


def test_sigterm_mid_broadcast_drains_cleanly_and_repeats_nothing(tic_dir, eds):
    r = drill.one_run(tic_dir, eds, subscribers=80, interval=2.0, seed=7, spread=6.0, term_after=0.3)
    assert (r["lost"], r["duplicates"], r["noise"]) == (0, 0, 0)


# --- issue 19: one leader, a standby that takes over --------------------------------------------


def test_failover_the_standby_carries_on_after_a_kill_9_and_after_the_leaders_session_ends(
    tic_dir, eds, pg_server
):
    import drill_failover

    def trial(how: str) -> dict:
        db = pg_server.create()
        return drill_failover.one_failover(tic_dir, eds, 40, 2.0, seed=7, db=db, how=how, spread=6.0)

    r = trial("kill")
    assert r["lost"] == 0
    assert r["max_per_chat"] <= 2
    assert r["first_after"] <= drill_failover.TARGET_FIRST_SEND
    assert r["b_sends_before"] == 0  # the standby sent nothing while it stood by
    assert r["b_polls_before"] == 0  # nor called getUpdates
    assert r["standby_status"]["/healthz"].startswith("200 standby: waiting for leadership (leader: ")
    assert r["standby_status"]["/readyz"].startswith("503 not ready: ")
    assert "leadership: standby, waiting for leadership" in r["standby_status"]["/readyz"]
    assert r["leader_status"]["/healthz"].startswith("200 ok: ")
    assert r["epoch"] == 2
    r = trial("terminate")
    assert r["lost"] == 0
    assert r["max_per_chat"] <= 2
    assert r["a_sends_after"] == 0  # the old leader stopped as its session ended
    assert r["overlap"] == 0  # its last getUpdates (marking what it handled as read) came first
    assert r["a_exit"] == 2  # and stepped down with an error
    assert r["noise"] == 0
    assert r["first_after"] <= drill_failover.TARGET_FIRST_SEND


def test_failover_when_the_leaders_network_to_the_database_goes_dark(tic_dir, eds, pg_server):
    """A black hole between the leader and PostgreSQL (tests/pg_proxy.py): the old leader stops
    sending before the standby can lead (leader.TRUST < dialect.LOCK_SESSION_IDLE), steps down
    and exits; the standby carries on from the outbox."""
    import drill_failover

    r = drill_failover.one_failover(
        tic_dir, eds, 40, 2.0, seed=7, db=pg_server.create(), how="partition", spread=6.0
    )
    assert r["lost"] == 0
    assert r["max_per_chat"] <= 2  # the messages in flight at the cut, sent again by the standby
    assert r["a_after_takeover"] == 0 and r["a_after_b_first"] == 0
    assert r["a_last_after"] <= TRUST + 2.0  # it stopped by itself, trusting its lock no longer,
    # and its last message reached the Bot API before the standby led (2 s before, by design)
    assert r["took"] - r["a_last_after"] >= (LOCK_SESSION_IDLE - TRUST) / 2
    assert r["first_after"] <= drill_failover.TARGET_FIRST_SEND
    assert r["a_exit"] == 2  # stepped down, and ended although its database calls hang
    assert r["b_sends_before"] == 0 and r["epoch"] == 2


# --- issue 25: a server restart is not a lost leadership ----------------------------------------


def test_a_postgresql_restart_mid_broadcast_costs_the_only_leader_nothing(tic_dir, eds, pg_server):
    """`pg_ctl restart -m fast`, then `-m immediate`, 1 s into a 200-chat broadcast of the only
    `tic-alert run`: it does not exit, takes its lock back (the same epoch) and every chat gets its
    alert, at most twice. Its own server (a restart would cut the session's other tests), durable
    as a real one: a crash must not take back commits the bot was told of."""
    import drill_pg_restart
    from pg_server import PgServer

    with PgServer(durable=True) as server:
        for mode in ("fast", "immediate"):
            r = drill_pg_restart.one_restart(tic_dir, eds, server, mode, subscribers=200, after=1.0)
            assert r["exit"] is None and r["stepped_down"] == 0, r  # still running, still leading
            assert r["lost"] == 0 and r["stuck"] == [], r
            assert r["max_per_chat"] <= 2, r
            assert r["lost_line"] == 1 and r["back_line"] == 1, r  # one line each way
            assert r["epoch"] == 1 and r["before"] < 200, r  # nobody else led; restarted mid-broadcast
            assert r["recovery"] <= 15.0, r
            assert drill_pg_restart.passed(r)
