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


@pytest.fixture(scope="module")
def eds(real_bytes):
    return editions(real_bytes, (MARCH_EDITION / "mfhhis01.txt").read_bytes())


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
