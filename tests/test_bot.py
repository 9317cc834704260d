"""The real bot through the fake Bot API: commands, settings, rights, names, history, migrations."""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
from pathlib import Path

import pytest
from bot_helpers import TOKEN, RunningBot
from telegram_server import TelegramServer

from bot.data.load import read_dir
from bot.notify.people.commands import COMMANDS, help_text
from bot.store import db
from bot.store.subscribers import Subscribers

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def files(tic_dir: Path) -> dict[str, bytes]:
    return read_dir(tic_dir)


def ask(server: TelegramServer, chat_id: int, text: str, n: int = 1, **kw) -> list[str]:
    """Send ``text`` from a chat and wait for ``n`` more messages to it; their texts."""
    before = len(server.sent(chat_id))
    server.user_message(chat_id, text, **kw)
    got = server.wait_for(before + n, timeout=15, chat_id=chat_id)
    return [s.plain or s.text or "" for s in got[before:]]


def settings_of(path: Path, chat_id: int):
    conn = db.connect(path)
    try:
        return Subscribers(conn).get(chat_id)
    finally:
        conn.close()


def test_start_stop_status_and_help_match_the_registered_commands(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db"):
        registered = [c["command"] for c in server.wait_for(lambda s: s.commands, timeout=10)]
        public = [c.name for c in COMMANDS if not c.admin]
        assert registered == public
        (reply,) = ask(server, 42, "/start")
        assert "Subscribed" in reply
        assert "/stop" in reply
        assert "Next release:" in reply
        assert settings_of(tmp_path / "s.db", 42).active
        (help_reply,) = ask(server, 42, "/help")
        assert help_reply == help_text()
        listed = re.findall(r"^/(\w+)", help_reply, flags=re.M)
        assert listed == public
        (reply,) = ask(server, 42, "/stop")
        assert "Unsubscribed" in reply
        assert not settings_of(tmp_path / "s.db", 42).active
        (reply,) = ask(server, 42, "/status")
        assert "not subscribed" in reply


def test_readme_lists_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for c in COMMANDS:
        assert f"`/{c.name}" in readme, f"/{c.name} is not in README.md"


@pytest.mark.slow  # a dozen commands at a private chat's pace of 1 a second
def test_set_answers_with_history_and_bad_values_change_nothing(tmp_path: Path, files):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", files):
        ask(server, 7, "/start")
        (reply,) = ask(server, 7, "/set holdings-3m-drop 100")
        assert "threshold 100bn for this chat (default 50bn)" in reply
        assert "would have fired on 8 release(s)" in reply  # episodes: a window told when it deepens
        assert "Oct 2022" in reply or "Nov 2022" in reply or "Dec 2024" in reply
        for bad, expected in [
            ("/set holdings-3m-drop abc", "is not a number"),
            ("/set holdings-3m-drop -5", "out of range"),
            ("/set holdings-3m-drop inf", "out of range"),
            ("/set nosuchrule 5", "No rule called"),
            ("/set holdings-3m-drop", "Usage: /set"),
            ("/set holdings-3m-drop 5 6", "Usage: /set"),
            ("/mute holdings-3m-drop until 2001-01-01", "in the past"),
            ("/mode loud", "alerts or summary"),
            ("/nonsense", "Unknown command /nonsense"),
            ("/sett holdings-3m-drop 1", "Unknown command /sett. Did you mean /set?"),
        ]:
            (reply,) = ask(server, 7, bad)
            assert expected in reply, (bad, reply)
        chat = settings_of(tmp_path / "s.db", 7)
        assert chat.rules["holdings-3m-drop"].threshold == 100
        assert chat.rules["holdings-3m-drop"].muted_until is None
        assert chat.mode == "alerts"
        (reply,) = ask(server, 7, "/backtest record-3m-decline")
        assert "would have fired on" in reply
        assert "Latest:" in reply
        (reply,) = ask(server, 7, "/reset")
        assert "back to its default" in reply
        assert settings_of(tmp_path / "s.db", 7).rules == {}


@pytest.mark.slow  # many commands at a chat's pace
def test_watch_is_forgiving_and_unknown_names_get_suggestions(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db"):
        assert "Watching Japan." in ask(server, 5, "/watch japan")[0]
        assert "Watching Japan + China." in ask(server, 5, "/watch JAPAN+china")[0]
        assert "Watching United Kingdom." in ask(server, 5, "/watch uk")[0]
        reply = ask(server, 5, "/watch japn")[0]
        assert "No country, group or asset called 'japn'. Did you mean: Japan" in reply
        assert settings_of(tmp_path / "s.db", 5).watches == ("Japan", "Japan + China", "United Kingdom")
        reply = ask(server, 5, "/group Benelux = belgium + luxembourg + netherlands")[0]
        assert "Benelux = Belgium + Luxembourg + Netherlands" in reply
        assert "not a single country" in ask(server, 5, "/group Mix = japan + grand total")[0]
        assert "already names Japan + China" in ask(server, 5, "/group japan+china = japan + uk")[0]
        assert "Watching Benelux." in ask(server, 5, "/watch benelux")[0]


LOOK_ALIKE = "j\u0430pan"  # a Cyrillic "а": reads "japan"


@pytest.mark.slow  # nine commands at a chat's pace (the refusal itself: test_commands.py)
def test_a_name_mixing_scripts_is_refused_wherever_a_name_is_typed(tmp_path: Path):
    """Issue 26: "/group jаpan = …" was taken, and /watch and /chart of it then showed "japan"
    over other countries' data. Mixed Latin and Cyrillic (or Greek) letters are refused as
    invisible characters are; a name in one script, Cyrillic included, still works."""
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db"):
        refusal = f"'{LOOK_ALIKE}' mixes Latin and Cyrillic letters (\u0430 U+0430)"
        for command in (
            f"/group {LOOK_ALIKE} = belgium + netherlands",
            f"/group Asia = {LOOK_ALIKE} + china",
            f"/watch {LOOK_ALIKE}",
            f"/unwatch {LOOK_ALIKE} stocks",
            f"/chart {LOOK_ALIKE} 5",
            f"/ungroup {LOOK_ALIKE}",
        ):
            reply = ask(server, 5, command)[0]
            assert reply.startswith(refusal), command
        assert (
            "mixes Latin and Greek letters (\u0391 U+0391)"
            in ask(server, 5, "/group \u0391sia = japan + uk")[0]
        )
        assert settings_of(tmp_path / "s.db", 5).groups == {}
        assert ask(server, 5, "/group Азия = japan + china")[0].startswith(
            "Group Азия = Japan + China, Mainland."
        )
        assert ask(server, 5, "/watch азия")[0].startswith("Watching Азия.")
        chat = settings_of(tmp_path / "s.db", 5)
        assert (chat.groups, chat.watches) == ({"Азия": ("Japan", "China, Mainland")}, ("Азия",))


@pytest.mark.slow  # commands and a chart at a chat's pace
def test_a_chart_of_a_mixed_name_is_refused_and_one_of_a_cyrillic_name_is_drawn(tmp_path: Path, files):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", files):
        ask(server, 6, "/group Азия = japan + china")
        assert "mixes Latin and Cyrillic" in ask(server, 6, f"/chart {LOOK_ALIKE}")[0]
        assert "mixes Latin and Cyrillic" in ask(server, 6, f"/chart {LOOK_ALIKE} stocks 3")[0]
        assert not [s for s in server.sent(6) if s.method == "sendPhoto"]
        assert ask(server, 6, "/chart Азия 3")[0] == "Азия: holdings of U.S. Treasuries, last 3 years"
        assert server.sent(6)[-1].method == "sendPhoto"


@pytest.mark.slow  # a group's pace: 20 replies a minute
def test_in_a_group_only_administrators_change_settings(tmp_path: Path):
    group = -100777
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db"):
        server.chat_admins[group] = {8}
        reply = ask(server, group, "/start", user_id=9, chat_type="supergroup", title="Macro desk")[0]
        assert "Only this group's administrators" in reply
        reply = ask(server, group, "/set holdings-3m-drop 80", user_id=9)[0]
        assert "Only this group's administrators" in reply
        assert "Watching" not in ask(server, group, "/watch japan", user_id=9)[0]
        assert "Next release" in ask(server, group, "/next", user_id=9)[0]  # reading is for everyone
        assert "Subscribed" in ask(server, group, "/start", user_id=8)[0]
        chat = settings_of(tmp_path / "s.db", group)
        assert chat.active
        assert chat.watches == ()
        assert chat.rules == {}
        assert chat.title == "Macro desk"


def test_operator_commands_answer_operators_only(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", admins=(1,)):
        assert "for the bot's operators" in ask(server, 2, "/stats")[0]
        ask(server, 2, "/start")
        reply = ask(server, 1, "/stats")[0]
        assert "Chats: 1 active, 0 stopped, 0 blocked" in reply
        assert "Poller:" in reply


def test_buttons_switch_rules_and_membership_keeps_state(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db"):
        ask(server, 3, "/start")
        ask(server, 3, "/rules")
        message = server.sent(3)[-1]
        labels = [b[0]["text"] for b in message.reply_markup["inline_keyboard"]]
        assert "✅ holdings-3m-drop" in labels and "✅ multi-year-high" in labels  # on by default (issue 16)
        shown = (message.plain or message.text or "").splitlines()
        for line in (  # the story rules of issue 16, each with what its threshold counts
            "• largest-1m-decline [notable] — threshold 3 years; floor 25bn",
            "• largest-1m-increase [info] — threshold 5 years; floor 25bn",
            "• largest-3m-decline [notable] — threshold 5 years; floor 40bn",
            "• largest-3m-increase [info] — threshold 5 years; floor 40bn",
            "• multi-year-low [notable] — threshold 1 year",  # round two: the largest from a year
            "• multi-year-high [info] — threshold 1 year",
            "• record-1m-net-selling [notable] — threshold top 1; floor 25bn",
            "• record-1m-net-buying [info] — threshold top 1; floor 25bn",
            "• record-3m-increase [notable] — threshold top 1; floor 50bn",
            "• holdings-rise-streak [info] — threshold 12 months; floor 20bn",  # holders from $25bn
            "• holdings-3m-drop [notable] — threshold 50bn; floor 50bn",
            "• holdings-12m-drop-pct [info] — threshold 25%; floor 25bn",
        ):
            assert line in shown, line
        server.callback(3, "toggle:holdings-3m-drop", message.message_id)
        server.wait_for(lambda s: settings_of(tmp_path / "s.db", 3).rules.get("holdings-3m-drop"), timeout=10)
        assert settings_of(tmp_path / "s.db", 3).rules["holdings-3m-drop"].enabled is False

        def labels_now(s: TelegramServer) -> list[str]:
            return [b[0]["text"] for b in s.message(3, message.message_id)["reply_markup"]["inline_keyboard"]]

        assert server.wait_for(lambda s: "⬜ holdings-3m-drop" in labels_now(s), timeout=10)
        server.my_chat_member(3, "kicked")
        server.wait_for(lambda s: settings_of(tmp_path / "s.db", 3).blocked, timeout=10)
        server.my_chat_member(3, "member", old_status="kicked")
        server.wait_for(lambda s: not settings_of(tmp_path / "s.db", 3).blocked, timeout=10)
        assert settings_of(tmp_path / "s.db", 3).active


@pytest.mark.slow  # a flood, answered at a chat's pace
def test_a_flooding_chat_is_slowed_down_once(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", commands_per_minute=5):
        for _ in range(12):
            server.user_message(11, "/next")
        server.wait_for(6, timeout=15, chat_id=11)
        assert "Next" in ask(server, 12, "/next")[0]  # another chat is served meanwhile
        texts = [s.text or "" for s in server.sent(11)]
        assert sum("Too many commands" in t for t in texts) == 1
        assert sum(t.startswith("Next") for t in texts) == 5


@pytest.mark.slow  # charts drawn and sent at a chat's pace
def test_latest_and_chart_send_photos(tmp_path: Path, files):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", files) as bot:
        ask(server, 4, "/start")
        # as the alert: the caption, and text for the stories it cannot hold (April 2026: three
        # stories since the flows of issue 24 and the round-up of issue 23)
        view = bot.chatbot.view
        pieces = len(view.alert(view.release.fire(), every=False).texts)
        got = ask(server, 4, "/latest", n=pieces)
        assert got[0].startswith("TIC release: data for April 2026 · 3 alerts")
        assert "Japan + China holdings fell 58.7bn" in "\n".join(got)
        ask(server, 4, "/chart japan+china")
        ask(server, 4, "/chart japan+china")
        photos = [s for s in server.sent(4) if s.method == "sendPhoto"]
        assert len(photos) == 3
        assert server.file_bytes(photos[1].file_id).startswith(b"\x89PNG")
        assert "Years must be 1 to 26" in ask(server, 4, "/chart japan 99")[0]


@pytest.mark.slow  # a bot with the real panel, twice, every log line checked
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_the_token_never_reaches_a_log_line(tmp_path: Path, files, fmt: str):
    from bot.logs import JsonFormatter

    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    keep = Keep(logging.DEBUG)
    keep.setFormatter(
        JsonFormatter() if fmt == "json" else logging.Formatter("%(name)s %(levelname)s %(message)s")
    )
    root = logging.getLogger()
    old = root.level
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    try:
        with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", files):
            server.fail_next("sendMessage", 400, "Bad Request: chat not found", chat_id=31)
            server.blocked_chats.add(32)
            asks = [(30, "/start"), (30, "/set holdings-3m-drop 70"), (31, "/next"), (32, "/start")]
            for chat, text in asks:
                server.user_message(chat, text)
            server.wait_for(lambda s: len(s.calls("sendMessage")) >= 4, timeout=15)
            ask(server, 30, "/chart japan")
    finally:
        root.removeHandler(keep)
        root.setLevel(old)
    assert len(records) > 50  # it did log, at DEBUG
    leaked = sum(TOKEN in r for r in records)
    print(f"token test ({fmt}): {len(records)} log lines at DEBUG, {leaked} with the token")
    assert [r for r in records if TOKEN in r or TOKEN.split(":")[1] in r] == []


def test_a_version_1_database_migrates_to_the_newest_and_keeps_its_data(tmp_path: Path):
    old = tmp_path / "v1.db"
    conn = sqlite3.connect(old)
    conn.executescript(db.MIGRATIONS[0])
    conn.execute("PRAGMA user_version=1")
    conn.execute(
        "INSERT INTO operator_events (at, kind, key, detail)"
        " VALUES ('2026-06-18T20:00:00', 'dead_man', 'k', 'd')"
    )
    conn.commit()
    conn.close()
    migrated = db.connect(old)
    fresh = db.connect(tmp_path / "new.db")
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY name"
    assert migrated.execute("PRAGMA user_version").fetchone()[0] == db.SCHEMA_VERSION == len(db.MIGRATIONS)

    def shape(conn):  # the schema without comments and spacing
        return [
            (t, n, " ".join(re.sub(r"--[^\n]*", "", sql or "").split())) for t, n, sql in conn.execute(schema)
        ]

    assert shape(migrated) == shape(fresh)
    assert migrated.execute("SELECT key FROM operator_events").fetchall() == [("k",)]
    Subscribers(migrated).touch(1, "private", "", dt.datetime.now(dt.UTC))


def test_a_database_that_is_not_ours_is_refused(tmp_path: Path):
    from bot.errors import StoreError

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE releases (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="not a tic-alert database"):
        db.connect(other)


@pytest.mark.slow  # a real `tic-alert serve` process
def test_serve_as_a_process_stops_cleanly_on_sigterm_and_without_a_token(tmp_path: Path, tic_dir: Path):
    import os
    import signal
    import subprocess
    import sys

    env = {**os.environ, "TIC_ALERT_DB": str(tmp_path / "p.db")}
    env.pop("TIC_ALERT_BOT_TOKEN", None)
    no_token = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--data-dir", str(tic_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert no_token.returncode == 2
    assert "TIC_ALERT_BOT_TOKEN is not set" in no_token.stderr
    assert "Traceback" not in no_token.stderr
    with TelegramServer() as server:
        env.update(TIC_ALERT_BOT_TOKEN=TOKEN, TIC_ALERT_TELEGRAM_API_URL=server.base_url)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--data-dir", str(tic_dir)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            server.wait_for(lambda s: s.commands, timeout=60)
            assert "Subscribed" in ask(server, 77, "/start")[0]
        finally:
            proc.send_signal(signal.SIGTERM)
            out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-2000:]
    assert TOKEN not in out
    assert "Traceback" not in out
    assert settings_of(tmp_path / "p.db", 77).active


@pytest.mark.slow  # a real `tic-alert` process
def test_a_refused_token_is_one_line_without_the_token(tmp_path: Path, tic_dir: Path):
    import os
    import subprocess
    import sys

    with TelegramServer(token="999:the-right-one") as server:
        env = {
            **os.environ,
            "TIC_ALERT_DB": str(tmp_path / "t.db"),
            "TIC_ALERT_BOT_TOKEN": TOKEN,
            "TIC_ALERT_TELEGRAM_API_URL": server.base_url,
        }
        run = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--data-dir", str(tic_dir)],
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert run.returncode == 2
    assert "refused the token" in run.stderr
    assert TOKEN not in run.stdout + run.stderr
    assert TOKEN.split(":")[1] not in run.stdout + run.stderr


def test_channel_buttons_answer_its_administrators_only(tmp_path: Path):
    channel = -100900
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db") as bot:
        server.chat_admins[channel] = {5}
        server.set_chat(channel, "channel", title="Macro channel")
        now = dt.datetime.now(dt.UTC)
        bot.chatbot.subscribers.touch(channel, "channel", "Macro channel", now)
        server.callback(channel, "toggle:holdings-3m-drop", 1, user_id=6)
        server.wait_for(lambda s: any(s.callback_answers.values()), timeout=10)
        assert settings_of(tmp_path / "s.db", channel).rules == {}
        server.callback(channel, "toggle:holdings-3m-drop", 1, user_id=5)
        server.wait_for(lambda s: settings_of(tmp_path / "s.db", channel).rules, timeout=10)


@pytest.mark.slow  # commands with backtests, at a chat's pace
def test_a_floor_per_chat_with_its_history(tmp_path: Path, files):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", files):
        ask(server, 8, "/start")
        reply = ask(server, 8, "/set holdings-3m-drop floor 100")[0]
        assert "floor 100bn for this chat" in reply
        assert "would have fired on" in reply
        assert "a floor is an amount in $bn" in ask(server, 8, "/set holdings-3m-drop floor -3")[0]
        assert "floor 100bn (default" in ask(server, 8, "/rules")[0]
        assert settings_of(tmp_path / "s.db", 8).rules["holdings-3m-drop"].floor == 100


def test_commands_are_routed_by_the_table_and_addressed_to_this_bot_only(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db"):
        assert "Subscribed" in ask(server, 21, "/START@tic_alert_test_bot")[0]
        server.user_message(21, "/stop@OtherBot")
        server.user_message(-100321, "/stats@OtherBot", chat_type="supergroup")
        server.user_message(-100321, "/nonsense", chat_type="supergroup")
        assert "Next release" in ask(server, 21, "/next")[0]  # answered after the three above
        assert server.sent(-100321) == []
        assert settings_of(tmp_path / "s.db", 21).active
        reply = ask(server, 21, "/stats " + "x" * 400)[0]
        assert "That is longer than any command takes.\nUsage: /stats" in reply
