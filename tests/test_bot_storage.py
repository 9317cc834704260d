"""The real bot when its database cannot be written: reads answer, writes say so, the operators
hear of it once, and all is well again when the database is (no restart)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bot_helpers import RunningBot
from telegram_server import TelegramServer
from test_bot import ask, settings_of


@pytest.mark.slow  # the bot on a read-only database
def test_a_read_only_database_answers_reads_refuses_writes_and_tells_the_operators(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", admins=(1,)) as bot:
        ask(server, 3, "/start")
        bot.store.conn.execute("PRAGMA query_only = ON")
        assert ask(server, 3, "/status")[0].startswith("This chat: subscribed")
        assert "Next release" in ask(server, 4, "/next")[0]
        assert ask(server, 3, "/mode summary")[0].startswith("Not saved: the bot cannot write its database")
        assert ask(server, 3, "/stop")[0].startswith("Not saved")
        (alert,) = server.wait_for(1, timeout=10, chat_id=1)
        assert "operator event: database" in alert.text
        assert "read-only" in alert.text
        bot.store.conn.execute("PRAGMA query_only = OFF")
        bot.chatbot.db.clock = lambda: time.monotonic() + 61  # a minute without a failed write
        assert ask(server, 3, "/mode summary")[0].startswith("Mode: summary")
        server.wait_for(2, timeout=10, chat_id=1)
        assert "can be written again" in server.sent(1)[-1].text
        assert len(server.sent(1)) == 2  # once when it failed, once when it worked again
    chat = settings_of(tmp_path / "s.db", 3)
    assert chat.active
    assert chat.mode == "summary"
