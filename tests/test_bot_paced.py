"""Floods against the fake Bot API with Telegram's limits enforced: every accepted command gets its
reply, no 429 is drawn, and a quiet chat is answered within a second meanwhile (issue 17; the
full-size drill is `bench/drill.py --drill flood`)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from bot_helpers import RunningBot
from telegram_server import TelegramServer

from bot.data.load import read_dir

QUIET = 999


@pytest.fixture(scope="module")
def files(tic_dir: Path) -> dict[str, bytes]:
    return read_dir(tic_dir)


def settle(server: TelegramServer, chats: set[int], owed: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    got = 0
    while time.monotonic() < deadline:
        got = sum(1 for s in server.sent() if s.chat_id in chats)
        if got >= owed:
            break
        time.sleep(0.2)
    time.sleep(2.0)  # nothing more may come
    return sum(1 for s in server.sent() if s.chat_id in chats)


def test_one_chat_pouring_commands_gets_its_budget_answered_and_one_notice(tmp_path: Path):
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", commands_per_minute=8) as bot:
        server.limits()
        for i in range(300):
            server.user_message(1, ("/next", "/status", "/help", "/watching")[i % 4])
        got = settle(server, {1}, 9, timeout=60)
        texts = [s.text or "" for s in server.sent(1)]
        assert got == 9  # 8 answers (the budget a minute) and one notice
        assert sum("Too many commands" in t for t in texts) == 1
        assert server.count_429 == 0
        assert bot.runtime.replies.dropped == 0


def test_many_chats_asking_heavy_commands_and_a_quiet_chat_answered_in_time(tmp_path: Path, files):
    chats = 100
    with TelegramServer() as server, RunningBot(server, tmp_path / "s.db", files) as bot:
        server.limits()
        asked: list[float] = []
        stop = threading.Event()

        def quiet() -> None:
            while not stop.is_set():
                asked.append(time.monotonic())
                server.user_message(QUIET, "/next")
                stop.wait(1.5)  # a person: within the chat's 1/s and 20/min

        for chat in range(1, chats + 1):
            server.user_message(chat, "/chart japan")
            server.user_message(chat, "/backtest record-3m-decline")
        asker = threading.Thread(target=quiet, daemon=True)
        asker.start()
        got = settle(server, set(range(1, chats + 1)), 2 * chats)
        stop.set()
        asker.join()
        server.wait_for(len(asked), timeout=10, chat_id=QUIET)
        answered = [s.at for s in server.sent(QUIET)]
        waits = sorted(a - q for q, a in zip(asked, answered))
        print(f"quiet chat: {len(waits)} answers, max {waits[-1]:.2f} s; 429s {server.count_429}")
        assert got == 2 * chats
        assert server.count_429 == 0
        assert waits[-1] <= 1.0
        assert bot.runtime.replies.dropped == 0
