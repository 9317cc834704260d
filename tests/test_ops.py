"""The operator's side: an own rules file, config check, admins from the environment, read-only
commands, backup under WAL, prune (keeping what the next release needs, on both backends), a
backup before a migration, the commands on PostgreSQL, and the first run offline."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MARCH_EDITION
from poll_helpers import MFH, MFH_CSV, T3, T5, editions
from release_helpers import release_day

from bot.cli import main
from bot.config import load_settings
from bot.errors import ConfigError
from bot.store import db
from bot.store.database import Database
from bot.store.postgres import PostgresDatabase
from bot.store.prune import DailyPrune, Pruned, prune

ROOT = Path(__file__).resolve().parent.parent


def events(capsys, *args: str) -> set[tuple[str, str]]:
    assert main(["check", *args, "--json"]) == 0
    return {(e["rule"], e["entity"]) for e in json.loads(capsys.readouterr().out)["events"]}


@pytest.mark.slow  # `tic-alert check` twice on the real files
def test_an_operators_rules_file_changes_what_check_fires(tic_dir: Path, tmp_path: Path, capsys):
    shipped = events(capsys, "--data-dir", str(tic_dir))
    assert ("holdings-3m-drop", "Japan + China") in shipped  # -58.7bn against 50
    rules = tmp_path / "rules.toml"
    # short: one field of one shipped rule, and one rule of its own
    rules.write_text(
        '[[rule]]\nid = "holdings-3m-drop"\nthreshold = 60\n\n'
        '[[rule]]\nid = "uk-1m-rise"\ndescription = "UK up 10bn in a month"\nkind = "change"\n'
        'entity = "United Kingdom"\nbasis = "holdings"\nwindow = 1\ndirection = "increase"\n'
        'threshold = 10\nseverity = "info"\n'
    )
    config = tmp_path / "tic-alert.toml"
    config.write_text('[rules]\nfile = "rules.toml"\n')  # relative to the config file
    own = events(capsys, "--config", str(config), "--data-dir", str(tic_dir))
    print(f"events: shipped rules {sorted(shipped)}; operator's file {sorted(own)}")
    assert ("holdings-3m-drop", "Japan + China") not in own  # -58.7bn is below 60 now
    assert ("uk-1m-rise", "United Kingdom") in own  # +10.6bn in April
    assert own - {("uk-1m-rise", "United Kingdom")} == shipped - {("holdings-3m-drop", "Japan + China")}


def test_config_check_refuses_a_bad_rules_file_naming_the_key(tmp_path: Path, capsys):
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nid = "holdings-3m-drop"\nthreshhold = 60\n')
    config = tmp_path / "c.toml"
    config.write_text(f'[rules]\nfile = "{rules}"\n')
    assert main(["config", "check", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip()
    print(f"config check: {err}")
    assert err.count("\n") == 0
    assert str(rules) in err
    assert "'threshhold'" in err
    rules.write_text('[[rule]]\nid = "holdings-3m-drop"\nthreshold = -5\n')
    assert main(["config", "check", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "holdings-3m-drop" in err
    assert "threshold" in err
    config.write_text('[http]\nlisten = "somewhere"\n')
    assert main(["config", "check", "--config", str(config)]) == 2
    assert '[http] listen = "somewhere": expected HOST:PORT' in capsys.readouterr().err


def test_config_check_prints_the_effective_config_token_masked(tmp_path: Path, capsys, monkeypatch):
    token = "123456:SECRET-part-of-the-token"
    monkeypatch.setenv("TIC_ALERT_BOT_TOKEN", token)
    monkeypatch.setenv("TIC_ALERT_ADMINS", "42, -100777")
    monkeypatch.setenv("TIC_ALERT_HTTP", "127.0.0.1:9108")
    monkeypatch.setenv("TIC_ALERT_DB", str(tmp_path / "not" / "yet" / "tic.db"))
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert "SECRET" not in out
    assert "token: TIC_ALERT_BOT_TOKEN is set (123456:****, masked)" in out
    assert "admins: 42, -100777" in out
    assert "http: 127.0.0.1:9108" in out
    assert "admins = [42, -100777]" in out
    assert 'listen = "127.0.0.1:9108"' in out
    assert "not there yet" in out
    assert not (tmp_path / "not").exists()
    monkeypatch.setenv("TIC_ALERT_ADMINS", "42, alice")
    with pytest.raises(
        ConfigError, match=r'^\[telegram\] admins \(TIC_ALERT_ADMINS\) = "42, alice": expected chat ids'
    ):
        load_settings()


def test_read_only_commands_never_create_a_database(tmp_path: Path, capsys, monkeypatch):
    where = tmp_path / "deep" / "er" / "tic.db"
    monkeypatch.setenv("TIC_ALERT_DB", str(where))
    assert main(["outbox"]) == 2  # not a quiet "nothing yet": a shell may not be the service's
    err = capsys.readouterr().err
    assert f"outbox: {where}: no database there yet" in err and "TIC_ALERT_DB" in err
    assert main(["config", "check"]) == 0
    capsys.readouterr()
    assert main(["backup", str(tmp_path / "b.db")]) == 2
    assert f"backup: {where}: no database there to back up; is it the service's?" in capsys.readouterr().err
    assert main(["prune", "--keep-releases", "1"]) == 2
    assert f"prune: {where}: no database" in capsys.readouterr().err
    assert not (tmp_path / "deep").exists()
    assert not (tmp_path / "b.db").exists()


def test_backup_copies_what_a_running_writer_committed_under_wal(tmp_path: Path, capsys, monkeypatch):
    path = tmp_path / "live.db"
    writer = db.connect(path)  # the running bot: its commits sit in the WAL until a checkpoint
    writer.execute("PRAGMA wal_autocheckpoint=0")
    with writer:
        for i in range(500):
            writer.execute(
                "INSERT INTO chats (chat_id, type, subscribed, created_at, updated_at)"
                " VALUES (?, 'private', 1, 'x', 'x')",
                (i,),
            )
    copied = tmp_path / "cp.db"
    shutil.copy(path, copied)  # what a plain cp of the file gets
    monkeypatch.setenv("TIC_ALERT_DB", str(path))
    assert main(["backup", str(tmp_path / "b.db")]) == 0
    print(capsys.readouterr().out.strip())
    with sqlite3.connect(copied) as c:
        plain = c.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'chats'").fetchone()[0]
    with sqlite3.connect(tmp_path / "b.db") as c:
        assert c.execute("SELECT COUNT(*) FROM chats").fetchone()[0] == 500
        assert c.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION
    assert plain == 0  # cp missed even the schema: it was all in the WAL
    assert main(["backup", str(tmp_path / "b.db")]) == 2  # never overwrites
    writer.close()


def test_a_migration_is_preceded_by_a_backup(tmp_path: Path):
    old = tmp_path / "v1.db"
    conn = sqlite3.connect(old)
    conn.executescript(db.MIGRATIONS[0])
    conn.execute("PRAGMA user_version=1")
    conn.execute("INSERT INTO operator_events (at, kind, key, detail) VALUES ('t', 'dead_man', 'k', 'd')")
    conn.commit()
    conn.close()
    db.connect(old).close()
    saved = tmp_path / "v1.db.schema-v1.bak"
    with sqlite3.connect(saved) as c:
        assert c.execute("PRAGMA user_version").fetchone()[0] == 1
        assert c.execute("SELECT key FROM operator_events").fetchall() == [("k",)]
    db.connect(tmp_path / "fresh.db").close()  # a new database has nothing to save
    assert sorted(p.name for p in tmp_path.glob("*.bak")) == ["v1.db.schema-v1.bak"]


@pytest.fixture(scope="module")
def eds(real_bytes):
    return editions(real_bytes, (MARCH_EDITION / "mfhhis01.txt").read_bytes())


def sizes(conn: Database) -> dict[str, int]:
    tables = ("releases", "vintages", "deliveries", "charts", "poll_log")
    return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}


@pytest.mark.slow  # three releases through the poller
def test_prune_keeps_what_the_next_release_needs(tmp_path, db_url, eds):
    with release_day(tmp_path, db=db_url) as day:
        day.treasury.publish_all(eds["2026-02"])
        day.poll(0)  # the baseline
        day.subscribe(701)
        day.subscribe(702)
        day.subscribers.set_mode(702, "summary", day.clock())
        for name in (T5, T3, MFH, MFH_CSV):  # the March release, whole
            day.treasury.publish(name, eds["2026-03"][name], day.clock.epoch() + 1)
        assert "new release 2026-03" in day.poll()
        day.settle()
        assert len(day.telegram.sent(702)) >= 1  # the summary
        for _ in range(5):
            day.poll()
        before = sizes(day.store.conn)
        done = prune(day.store.conn, 1)
        after = sizes(day.store.conn)
        print(f"prune after March: {done.describe()}; rows {before} → {after}")
        # March is kept, February is the previous release: only the poll log before March goes
        assert done == Pruned(polls=done.polls)
        assert done.polls > 0
        march_rows = day.store.conn.execute("SELECT COUNT(*) FROM deliveries WHERE release = '2026-03'")
        march = march_rows.fetchone()[0]

        # the next release is still detected and alerted, from what the prune kept
        day.treasury.publish(T5, eds["2026-04"][T5], day.clock.epoch() + 1)
        assert "new release 2026-04" in day.poll()
        day.settle()
        (alert,) = [s for s in day.telegram.sent(701) if "April 2026" in (s.text or "")]
        done = prune(day.store.conn, 1)
        rows = sizes(day.store.conn)
        print(f"prune after April: {done.describe()}; rows now {rows}")
        assert done.deliveries == march and done.releases == 1  # March's rows, February's release
        assert done.vintages == 1 and done.charts >= 1  # February's slt_table5.txt; March's chart
        assert [r.month for r in day.store.releases()] == ["2026-03", "2026-04"]  # the previous one kept
        march_t5 = day.store.release("2026-03")
        assert (
            march_t5 is not None
            and day.store.conn.execute(
                "SELECT COUNT(*) FROM vintages WHERE file = ? AND vintage = '2026-03'", (T5,)
            ).fetchone()[0]
            == 1
        )  # the previous release's headline file is kept

        # the last alert is still edited in place when SLT Table 3 arrives
        day.treasury.publish(T3, eds["2026-04"][T3], day.clock.epoch() + 1)
        assert "slt_table3.txt shows release 2026-04" in day.poll()
        counts = day.settle()
        edits = [s for s in day.telegram.sent(701, edits=True) if s.method == "editMessageCaption"]
        assert len(edits) == 1
        assert edits[0].message_id == alert.message_id
        assert "net transactions -58.6" in edits[0].text
        assert counts["failed"] == 0
        assert prune(day.store.conn, 1) == Pruned()  # nothing more to prune


def test_operator_commands_on_postgresql(pg_server, tmp_path: Path, capsys, monkeypatch):
    url = pg_server.create()
    monkeypatch.setenv("TIC_ALERT_DB", url)
    assert main(["outbox"]) == 2  # reading an empty database: no tables made
    assert "no tic-alert schema there yet" in capsys.readouterr().err
    assert main(["config", "check"]) == 0
    assert f"database: {url} (not there yet" in capsys.readouterr().out
    assert main(["prune", "--keep-releases", "1"]) == 2
    assert "no tic-alert schema there yet" in capsys.readouterr().err
    raw = PostgresDatabase(url, url)
    assert not raw.dialect.has_tables(raw)
    raw.close()
    assert main(["backup", str(tmp_path / "b.db")]) == 2  # one line: use pg_dump
    err = capsys.readouterr().err.strip()
    assert "pg_dump" in err and len(err.splitlines()) == 1 and not (tmp_path / "b.db").exists()
    db.connect(url).close()
    assert main(["prune", "--keep-releases", "1", "--vacuum"]) == 0
    out = capsys.readouterr().out
    assert "pruned to the newest 1 release(s): removed 0 releases" in out and " bytes" in out
    assert main(["config", "check"]) == 0
    assert re.search(r"database: postgresql://\S+ \([\d,]+ bytes\)", capsys.readouterr().out)


def test_daily_prune_runs_once_a_day():
    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    conn = db.connect(":memory:")
    clock = Clock()
    daily = DailyPrune(conn, 2, clock=clock)
    assert daily.tick() == Pruned()
    clock.now += 3600
    assert daily.tick() is None  # not again within the day
    clock.now += 86_400
    assert daily.tick() == Pruned()
    assert DailyPrune(conn, 0, clock=clock).tick() is None  # 0: never


@pytest.mark.slow  # a real `tic-alert` process
def test_check_offline_is_one_line_with_the_hint():
    env = {**os.environ, "TIC_ALERT_SOURCE_URL": "http://127.0.0.1:9/"}  # nothing listens on port 9
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "check"], env=env, capture_output=True, text=True, timeout=120
    )
    print(f"offline: {proc.stderr.strip()}")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1
    assert len(proc.stderr) < 200
    assert "cannot reach 127.0.0.1" in proc.stderr
    assert "no network? try --data-dir DIR" in proc.stderr


@pytest.mark.slow  # a backtest of the real files, piped
def test_backtest_into_head_ends_quietly(tic_dir: Path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "backtest", "--data-dir", str(tic_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `| head -1` does
    err = proc.stderr.read().decode()
    proc.wait(60)
    assert first.startswith(b"Backtest ")
    assert err == ""
    assert proc.returncode == 141
