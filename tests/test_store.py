"""The poller's state on both backends: keyed writes, state kept across a reopen, the poll log."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3

import pytest

from bot.errors import StoreError
from bot.store.state import Logged, OperatorRecord, PollEntry, Store

NOW = dt.datetime(2026, 6, 18, 20, 1, tzinfo=dt.UTC)


def test_sqlite_keeps_its_file_in_wal_mode(tmp_path):
    store = Store(tmp_path / "state" / "tic.db")
    assert store.conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    store.close()


def test_keyed_writes_survive_a_reopen(db_url):
    path = db_url
    store = Store(path)
    body = b"Country\t2026-04\r\n"
    sha = hashlib.sha256(body).hexdigest()
    with store.transaction():
        a = store.add_vintage("slt_table5.txt", body, sha, "2026-04", '"e1"', "lm", NOW)
        b = store.add_vintage("slt_table5.txt", body, sha, "2026-04", '"e1"', "lm", NOW)
        store.set_held("slt_table5.txt", a, '"e1"', "lm", NOW)
        first = store.add_release("2026-04", ("2026-04",), a, True, NOW, {"slt_table3.txt": None}, NOW)
        again = store.add_release("2026-04", ("2026-04",), a, True, NOW, {"slt_table3.txt": None}, NOW)
    assert a == b
    assert first
    assert not again
    assert store.add_operator_event("dead_man", "dead-man:2026-07-14", "x", NOW)
    assert not store.add_operator_event("dead_man", "dead-man:2026-07-14", "x", NOW)
    store.close()

    reopened = Store(path)
    assert [r.month for r in reopened.releases()] == ["2026-04"]
    assert reopened.held("slt_table5.txt").etag == '"e1"'
    assert reopened.body(a) == body
    assert reopened.count_vintages("slt_table5.txt") == 1
    assert [f.file for f in reopened.files_of_release("2026-04")] == ["slt_table3.txt"]
    assert len(reopened.operator_events()) == 1
    reopened.close()


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def test_trailing_errors_count_the_current_streak(store):
    for outcome in [Logged.NOT_MODIFIED, Logged.ERROR, Logged.ERROR, Logged.ERROR]:
        store.log_poll(NOW, "slt_table5.txt", outcome)
    store.log_poll(NOW, "slt_table3.txt", Logged.NOT_MODIFIED)
    assert store.trailing_errors("slt_table5.txt") == (3, "2026-06-18T20:01:00.000+00:00")


def test_no_errors_no_streak(store):
    store.log_poll(NOW, "slt_table5.txt", Logged.ERROR)
    store.log_poll(NOW, "slt_table5.txt", Logged.NOT_MODIFIED)
    assert store.trailing_errors("slt_table5.txt") == (0, None)


def test_the_poll_log_reads_back_as_rows_newest_first(store):
    store.log_poll(NOW, "slt_table5.txt", Logged.NOT_MODIFIED, status=304)
    later = NOW + dt.timedelta(seconds=15)
    store.log_poll(later, "slt_table5.txt", Logged.ERROR, status=502, detail="http: 502")
    assert store.poll_log(limit=1) == [PollEntry(later, "slt_table5.txt", Logged.ERROR, 502, "http: 502")]


def test_the_poll_log_of_one_file(store):
    store.log_poll(NOW, "slt_table5.txt", Logged.NOT_MODIFIED)
    store.log_poll(NOW, "slt_table3.txt", Logged.COMPLETE)
    assert [p.file for p in store.poll_log("slt_table3.txt")] == ["slt_table3.txt"]


def test_operator_events_read_back_as_rows(store):
    store.add_operator_event("dead_man", "dead-man:2026-07-14", "not seen", NOW)
    assert store.operator_events() == [OperatorRecord(NOW, "dead_man", "dead-man:2026-07-14", "not seen")]


def test_a_streak_longer_than_a_page_is_counted_whole(store):
    store.log_poll(NOW, "slt_table5.txt", Logged.NOT_MODIFIED)
    for i in range(250):
        store.log_poll(NOW + dt.timedelta(seconds=i), "slt_table5.txt", Logged.ERROR)
        store.log_poll(NOW, "slt_table3.txt", Logged.ERROR)
    assert store.trailing_errors("slt_table5.txt") == (250, "2026-06-18T20:01:00.000+00:00")


def test_the_hand_over_mark_is_a_compare_and_set(store):
    with store.transaction():
        vid = store.add_vintage("slt_table5.txt", b"x", "h", "2026-04", None, None, NOW)
        store.add_release("2026-04", ("2026-04",), vid, False, NOW, {}, NOW)
    assert store.claim_handover("2026-04", None, "a")
    assert not store.claim_handover("2026-04", None, "b")  # someone handed it over since
    assert store.claim_handover("2026-04", "a", "b")
    assert not store.claim_handover("2026-04", "a", "c")
    assert store.release("2026-04").handed_over == "b"


def test_a_failed_transaction_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.add_vintage("slt_table5.txt", b"x", "h", "2026-04", None, None, NOW)
        store.log_poll(NOW, "slt_table5.txt", Logged.CHANGED)
        raise RuntimeError("killed before the commit")
    assert store.count_vintages("slt_table5.txt") == 0 and store.poll_log() == []


def test_an_unknown_schema_version_is_refused(tmp_path):
    path = tmp_path / "tic.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=99")
    with pytest.raises(StoreError, match="schema version 99"):
        Store(path)
