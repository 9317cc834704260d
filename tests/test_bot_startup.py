"""`tic-alert serve` as a process when what it needs is missing at start-up: it waits, with backoff
and one line per kind of failure, and serves as soon as it can; only a refused token ends it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bot_helpers import TOKEN
from telegram_server import TelegramServer
from test_bot import ask
from treasury_server import FakeTreasury

from bot.data.load import read_dir


@pytest.fixture(scope="module")
def files(tic_dir: Path) -> dict[str, bytes]:
    return read_dir(tic_dir)


def serve(tmp_path: Path, api_url: str, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "TIC_ALERT_DB": str(tmp_path / "p.db"),
        "TIC_ALERT_BOT_TOKEN": TOKEN,
        "TIC_ALERT_TELEGRAM_API_URL": api_url,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out[-3000:]
    assert "Traceback" not in out
    assert TOKEN not in out
    return out


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_telegram_unreachable_at_start_up_is_waited_for_in_one_line(tmp_path: Path, tic_dir: Path):
    proc = serve(tmp_path, f"http://127.0.0.1:{closed_port()}/bot", "--data-dir", str(tic_dir))
    time.sleep(8)  # attempts at 0, 1, 3, 7 s
    out = stop(proc)
    assert out.count("Telegram unreachable at start-up") == 1, out
    assert "stopped while waiting for Telegram" in out


def test_a_bot_api_that_answers_502_at_first_is_retried_and_then_served(tmp_path: Path, tic_dir: Path):
    with TelegramServer() as server:
        server.fail_next("getMe", 502, count=3)
        proc = serve(tmp_path, server.base_url, "--data-dir", str(tic_dir))
        try:
            server.wait_for(lambda s: s.commands, timeout=60)
            assert "Subscribed" in ask(server, 77, "/start")[0]
        finally:
            out = stop(proc)
    assert out.count("Telegram unreachable at start-up: NetworkError: Bad Gateway") == 1, out
    assert "Telegram unreachable at start-up: fine again after 3 failed attempt(s)" in out


def test_the_treasury_unreachable_on_a_fresh_database_is_waited_for(tmp_path: Path, files):
    with TelegramServer() as server, FakeTreasury() as treasury:
        proc = serve(tmp_path, server.base_url, "--source-url", treasury.url)
        try:
            server.wait_for(lambda s: s.commands, timeout=60)
            assert "No release is loaded yet" in ask(server, 5, "/latest")[0]
            assert "Next release" in ask(server, 5, "/next")[0]  # what needs no release works
            treasury.publish_all(files)
            deadline = time.monotonic() + 40
            while "No release is loaded yet" in ask(server, 5, "/chart japan")[0]:
                assert time.monotonic() < deadline, "the release was never loaded"
                time.sleep(1)
        finally:
            out = stop(proc)
    assert out.count("no release to answer from yet") == 2, out  # the failure, then "fine again"
    assert "serving release 2026-04" in out


def test_a_refused_token_is_one_line_and_no_traceback(tmp_path: Path, tic_dir: Path):
    with TelegramServer(token="999:the-right-one") as server:
        proc = serve(tmp_path, server.base_url, "--data-dir", str(tic_dir))
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "tic-alert: error: the Bot API refused the token" in out
    assert "Traceback" not in out
    assert TOKEN not in out
    assert TOKEN.split(":")[1] not in out
