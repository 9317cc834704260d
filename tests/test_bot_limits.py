"""Who may do what, and how much: the real bot through the fake Bot API.

A member's flood does not lock a group's administrators out (the command budget is per person);
a settings change is never dropped without a word; operator commands answer in private only."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bot_helpers import RunningBot
from telegram_server import TelegramServer
from test_bot import ask, settings_of

GROUP = -100555


def texts(server: TelegramServer, chat_id: int) -> list[str]:
    return [s.plain or s.text or "" for s in server.sent(chat_id)]


@pytest.mark.slow  # a flood at a group's pace
def test_a_members_flood_does_not_lock_out_the_groups_administrators(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", commands_per_minute=3):
        server.chat_admins[GROUP] = {8}
        for _ in range(30):
            server.user_message(GROUP, "/help", user_id=9, chat_type="supergroup", username="flooder")
        server.wait_for(lambda s: any("Too many commands" in t for t in texts(s, GROUP)), timeout=20)
        asked = time.monotonic()
        reply = ask(server, GROUP, "/mode summary", user_id=8)[0]
        assert reply.startswith("Mode: summary")
        assert time.monotonic() - asked < 7  # ahead of the member's answers (a group: 20/min)
        assert settings_of(tmp_path / "s.db", GROUP).mode == "summary"
        server.wait_for(
            lambda s: sum(t.startswith("tic-alert watches") for t in texts(s, GROUP)) >= 3, timeout=40
        )
        got = texts(server, GROUP)
        assert sum(t.startswith("tic-alert watches") for t in got) == 3  # the member's budget
        assert sum("Too many commands" in t for t in got) == 1  # told once


@pytest.mark.slow  # commands at a chat's pace
def test_a_refused_settings_change_is_always_told(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", commands_per_minute=2):
        ask(server, 6, "/next")
        ask(server, 6, "/next")
        assert "Too many commands" in ask(server, 6, "/next")[0]
        server.user_message(6, "/next")  # a read over the budget: already told, not answered
        assert ask(server, 6, "/mode summary")[0].startswith("Not changed: too many commands")
        assert ask(server, 6, "/mute all")[0].startswith("Not changed: too many commands")
        # refusals told are themselves limited (the budget a minute): a deliberate flood goes quiet
        assert settings_of(tmp_path / "s.db", 6) is None or settings_of(tmp_path / "s.db", 6).mode == "alerts"


@pytest.mark.slow  # commands at a chat's pace
def test_operator_commands_answer_in_a_private_chat_only(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", admins=(1, GROUP)):
        server.chat_admins[GROUP] = {1}
        reply = ask(server, GROUP, "/stats", user_id=1, chat_type="supergroup")[0]
        assert reply == "Operator commands answer in a private chat with the bot."
        reply = ask(server, GROUP, "/testalert", user_id=2)[0]
        assert reply == "That command is for the bot's operators."  # a listed chat id is no operator
        assert not any("Chats:" in t for t in texts(server, GROUP))
        assert "Chats:" in ask(server, 1, "/stats")[0]


def test_an_unknown_command_is_echoed_without_its_invisible_characters(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db"):
        reply = ask(server, 4, "/he\u202elp")[0]
        assert reply.startswith("Unknown command /he\\u202elp.")
        assert "\u202e" not in reply
