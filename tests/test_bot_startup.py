"""`tic-alert serve` as a process when what it needs is missing at start-up: it waits, with backoff
and one line per kind of failure, and serves as soon as it can; only a refused token ends it."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from bot_helpers import TOKEN
from telegram_server import TelegramServer
from test_bot import ask
from treasury_server import FakeTreasury

from bot.data.load import read_dir
from bot.store.state import Store
from bot.store.subscribers import Subscribers

pytestmark = pytest.mark.slow  # real `tic-alert serve` processes, waiting out start-up: 3-10 s each


@pytest.fixture(scope="module")
def files(tic_dir: Path) -> dict[str, bytes]:
    return read_dir(tic_dir)


def serve(
    tmp_path: Path, api_url: str, *args: str, command: str = "serve", wrap: tuple[str, ...] = ()
) -> subprocess.Popen:
    """`tic-alert serve` (or ``command``) on ``tmp_path``/p.db, run by ``wrap`` if given."""
    env = {
        **os.environ,
        "TIC_ALERT_DB": str(tmp_path / "p.db"),
        "TIC_ALERT_BOT_TOKEN": TOKEN,
        "TIC_ALERT_TELEGRAM_API_URL": api_url,
    }
    return subprocess.Popen(
        [*wrap, sys.executable, "-m", "bot", command, *args],
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


class Output:
    """A process's output read as it comes (in a thread): wait for a line in it, then stop."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._pump, daemon=True)
        self._reader.start()

    def _pump(self) -> None:
        for line in self.proc.stdout or ():
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, text: str, timeout: float = 60) -> str:
        """The first line with ``text`` (the process stays up): a wait for what it says, not a sleep."""

        def found() -> str | None:
            return next((line for line in self.lines if text in line), None)

        with self._cond:
            line = self._cond.wait_for(found, timeout)
        assert line, f"no {text!r} within {timeout} s:\n{''.join(self.lines)[-3000:]}"
        return line

    def stop(self) -> str:
        """SIGTERM; the whole output, checked as stop() checks it."""
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)
        self._reader.join(timeout=10)
        out = "".join(self.lines)
        assert self.proc.returncode == 0, out[-3000:]
        assert "Traceback" not in out
        assert TOKEN not in out
        return out


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_telegram_unreachable_at_start_up_is_waited_for_in_one_line(tmp_path: Path, tic_dir: Path):
    """The one WARNING line, then the further attempts (at 1 and 3 s) only at debug level: waited
    for by their own lines (the backoff and the quiet repeats on a fake clock: test_patience.py)."""
    where = ("--data-dir", str(tic_dir), "--log-level", "debug")
    output = Output(serve(tmp_path, f"http://127.0.0.1:{closed_port()}/bot", *where))
    # the line comes once the stop signals are handled (a fixed sleep raced a loaded machine's start)
    output.wait_for("Telegram unreachable at start-up")
    output.wait_for("(attempt 3; next in 4 s)")  # two more attempts have failed
    out = output.stop()
    told = [line for line in out.splitlines() if "WARNING" in line and "unreachable at start-up" in line]
    assert len(told) == 1, out
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


def test_an_nginx_502_page_is_one_line_not_a_traceback(tmp_path: Path, tic_dir: Path):
    """A proxy in front of the Bot API answers its own HTML 502 page (not Telegram's JSON): PTB's
    "Can not load invalid JSON data" with the page and a traceback becomes one line a request."""
    with TelegramServer() as server:
        proc = serve(tmp_path, server.base_url, "--data-dir", str(tic_dir))
        try:
            server.wait_for(lambda s: s.commands, timeout=60)
            server.wait_for(lambda s: s.calls("getUpdates"), timeout=60)  # polling for updates
            outage = server.outage(0.0, 2.0, 0.0, html=True)
            server.user_message(78, "/next")  # answered once the outage is over
            server.wait_for(1, timeout=30, chat_id=78)
            assert time.monotonic() >= outage.end - 0.5
        finally:
            out = stop(proc)  # no "Traceback" in it
    pages = [line for line in out.splitlines() if "not JSON" in line]
    print("\n".join(pages))
    assert pages
    assert all("502 Bad Gateway" in line for line in pages)
    assert "<html>" not in out


def read_only_mount_works() -> bool:
    """A private mount namespace with a read-only bind mount (root on Linux, util-linux)."""
    probe = "mount --bind /tmp /tmp && mount -o remount,ro,bind /tmp /tmp && ! touch /tmp/.tic-ro-probe"
    try:
        return (
            subprocess.run(["unshare", "-m", "sh", "-c", probe], capture_output=True, timeout=10).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def test_a_read_only_database_at_start_up_serves_reads_and_refuses_writes(
    tmp_path: Path, tic_dir: Path, files
):
    """`run` on a database that cannot be written (its folder a read-only mount): it starts, the
    poller and the commands that only read work from what the database holds, and a command that
    would write answers that nothing was saved, in one line each and no traceback."""
    if not read_only_mount_works():
        pytest.skip("needs unshare -m and a read-only bind mount (root on Linux)")
    folder = tmp_path / "ro"
    folder.mkdir()
    store = Store(folder / "p.db")
    subs = Subscribers(store.conn)
    subs.touch(5, "private", "", dt.datetime.now(dt.UTC))
    subs.set_subscribed(5, True, dt.datetime.now(dt.UTC))
    store.close()  # checkpointed: the file is all there is
    with TelegramServer() as server, FakeTreasury() as treasury:
        treasury.publish_all(files)
        ro = f'mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} {folder} && exec "$@"'
        where = ("--data-dir", str(tic_dir), "--source-url", treasury.url)
        unshared = ("unshare", "-m", "sh", "-c", ro, "sh")
        output = Output(serve(folder, server.base_url, *where, command="run", wrap=unshared))
        try:
            server.wait_for(lambda s: s.commands, timeout=60)
            assert ask(server, 5, "/status")[0].startswith("This chat: subscribed")
            assert "Next release" in ask(server, 5, "/next")[0]
            refused = ask(server, 5, "/mode summary")[0]
            assert refused.startswith("Not saved: the bot cannot write its database right now")
            assert "(the database is read-only)" in refused
            output.wait_for("poller tick failed: the database refused")
        finally:
            out = output.stop()  # exit 0, no traceback
    print(out)
    assert "cannot be written" in out
    assert not list(folder.glob("p.db-*"))  # nothing written beside it
