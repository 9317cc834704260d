"""The SQLite state: WAL on disk, keyed writes, state kept across a reopen."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3

import pytest

from bot.errors import StoreError
from bot.store.state import Logged, OperatorRecord, PollEntry, Store

NOW = dt.datetime(2026, 6, 18, 20, 1, tzinfo=dt.UTC)


def test_wal_and_keyed_writes_survive_a_reopen(tmp_path):
    path = tmp_path / "state" / "tic.db"
    store = Store(path)
    assert store.journal_mode == "wal"
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


def test_trailing_errors_count_the_current_streak():
    store = Store(":memory:")
    for outcome in [Logged.NOT_MODIFIED, Logged.ERROR, Logged.ERROR, Logged.ERROR]:
        store.log_poll(NOW, "slt_table5.txt", outcome)
    store.log_poll(NOW, "slt_table3.txt", Logged.NOT_MODIFIED)
    assert store.trailing_errors("slt_table5.txt") == (3, "2026-06-18T20:01:00.000+00:00")


def test_no_errors_no_streak():
    store = Store(":memory:")
    store.log_poll(NOW, "slt_table5.txt", Logged.ERROR)
    store.log_poll(NOW, "slt_table5.txt", Logged.NOT_MODIFIED)
    assert store.trailing_errors("slt_table5.txt") == (0, None)


def test_the_poll_log_reads_back_as_rows_newest_first():
    store = Store(":memory:")
    store.log_poll(NOW, "slt_table5.txt", Logged.NOT_MODIFIED, status=304)
    later = NOW + dt.timedelta(seconds=15)
    store.log_poll(later, "slt_table5.txt", Logged.ERROR, status=502, detail="http: 502")
    assert store.poll_log(limit=1) == [PollEntry(later, "slt_table5.txt", Logged.ERROR, 502, "http: 502")]


def test_the_poll_log_of_one_file():
    store = Store(":memory:")
    store.log_poll(NOW, "slt_table5.txt", Logged.NOT_MODIFIED)
    store.log_poll(NOW, "slt_table3.txt", Logged.COMPLETE)
    assert [p.file for p in store.poll_log("slt_table3.txt")] == ["slt_table3.txt"]


def test_operator_events_read_back_as_rows():
    store = Store(":memory:")
    store.add_operator_event("dead_man", "dead-man:2026-07-14", "not seen", NOW)
    assert store.operator_events() == [OperatorRecord(NOW, "dead_man", "dead-man:2026-07-14", "not seen")]


def test_an_unknown_schema_version_is_refused(tmp_path):
    path = tmp_path / "tic.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=99")
    with pytest.raises(StoreError, match="schema version 99"):
        Store(path)
