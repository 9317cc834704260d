"""An operator's day (issue 27) with real `tic-alert run` processes against the fakes: /readyz is 503
until a release is loaded, and a second `run` on the same SQLite file stands by naming the first,
then leads once the first is killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from bot_helpers import TOKEN
from telegram_server import TelegramServer
from treasury_server import FakeTreasury

from bot.data.sources import RELEASE_FILES

pytestmark = pytest.mark.slow  # real `tic-alert run` processes: 5-10 s each

BIN = Path(sys.executable).parent


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except OSError as err:
        return 0, str(err)


def until(what: Callable[[], object], timeout: float, why: str) -> object:
    deadline = time.monotonic() + timeout
    while not (got := what()):
        assert time.monotonic() < deadline, why
        time.sleep(0.2)
    return got


class Run:
    """`tic-alert run` in a subprocess, its log in a file, its status server on a free port."""

    def __init__(self, tmp: Path, name: str, env: dict[str, str]):
        self.log = tmp / f"{name}.log"
        self.port = _free_port()
        env = {**env, "TIC_ALERT_HTTP": f"127.0.0.1:{self.port}"}
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen([str(BIN / "tic-alert"), "run"], env=env, stderr=out, stdout=out)

    def text(self) -> str:
        return self.log.read_text()

    def get(self, path: str) -> tuple[int, str]:
        return get(f"http://127.0.0.1:{self.port}{path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(tmp: Path, telegram: TelegramServer, treasury: FakeTreasury) -> dict[str, str]:
    return {
        **os.environ,
        "TIC_ALERT_DB": str(tmp / "tic.db"),
        "TIC_ALERT_BOT_TOKEN": TOKEN,
        "TIC_ALERT_TELEGRAM_API_URL": telegram.base_url,
        "TIC_ALERT_SOURCE_URL": treasury.url,
    }


def publish(treasury: FakeTreasury, tic_dir: Path) -> None:
    for name in RELEASE_FILES:
        if (tic_dir / name).exists():
            treasury.publish(name, (tic_dir / name).read_bytes())


def test_readyz_is_503_until_a_release_is_loaded_then_200(tmp_path: Path, tic_dir: Path):
    with FakeTreasury() as treasury, TelegramServer() as telegram:
        run = Run(tmp_path, "a", env_for(tmp_path, telegram, treasury))  # the Treasury has no files yet
        try:
            until(lambda: "Application started" in run.text(), 90, "not started")
            status, body = run.get("/readyz")
            assert (status, body) == (503, "not ready: release: no release loaded yet\n")
            publish(treasury, tic_dir)  # the bot's next try (backoff 1, 2, 4 s ...) loads it
            until(lambda: run.get("/readyz")[0] == 200, 60, "not ready after the files appeared")
            ready = run.get("/readyz")[1]
        finally:
            run.stop()
    print(run.text())
    assert ready == "ready: database, telegram, leadership, release\n"
    (banner,) = [line for line in run.text().splitlines() if " starting: " in line]
    assert f"mode=run database={tmp_path / 'tic.db'} role=leader listen=127.0.0.1:{run.port}" in banner
    assert run.proc.returncode == 0


def test_a_second_run_on_one_sqlite_file_stands_by_naming_the_first(tmp_path: Path, tic_dir: Path):
    with FakeTreasury() as treasury, TelegramServer() as telegram:
        publish(treasury, tic_dir)
        env = env_for(tmp_path, telegram, treasury)
        first = Run(tmp_path, "first", env)
        second = None
        try:
            until(lambda: "Application started" in first.text(), 90, "the first did not start")
            second = Run(tmp_path, "second", env)
            until(
                lambda: "standby: waiting for leadership" in second.text(), 90, "the second did not stand by"
            )
            standby = second.get("/healthz")
            not_ready = second.get("/readyz")
            metrics = until(lambda: _with(first.get("/metrics")[1], "tic_alert_newest_release_month"), 60, "")
            polls_before = sum(r.method == "getUpdates" for r in telegram.requests)
            first.proc.kill()  # kill -9: no clean-up; the kernel frees the lock
            first.proc.wait(30)
            until(lambda: "leading: " in second.text(), 60, "the second did not take over")
            until(lambda: sum(r.method == "getUpdates" for r in telegram.requests) > polls_before, 30, "")
        finally:
            first.stop()
            if second is not None:
                second.stop()
    print(first.text(), second.text(), sep="\n---\n")
    host_pid = f":{first.proc.pid} since "
    standby_line = next(line for line in second.text().splitlines() if "standby: waiting" in line)
    assert host_pid in standby_line  # it names the first: host:pid since …
    banner = next(line for line in second.text().splitlines() if " starting: " in line)
    assert "role=standby (leader: " in banner and host_pid in banner
    assert standby[0] == 200 and standby[1].startswith("standby: waiting for leadership (leader: ")
    assert not_ready[0] == 503 and "leadership: standby" in not_ready[1]
    assert "Application started" not in second.text().split("leading: ")[0]  # no getUpdates while standing by
    assert 'tic_alert_build_info{version="0.1.0"} 1.0' in str(metrics)
    assert "tic_alert_newest_release_month " in str(metrics)
    assert second.proc.returncode == 0


def _with(text: str, name: str) -> str | None:
    return text if f"\n{name} " in text else None
