"""`tic-alert check`: the newest release at a glance, from a folder or over HTTP."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.cli import main
from bot.data.sources import RELEASE_FILES

ROOT = Path(__file__).resolve().parent.parent


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator:
    servers: list[ThreadingHTTPServer] = []

    def start(directory: Path) -> str:
        handler = functools.partial(QuietHandler, directory=str(directory))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def test_check_data_dir_prints_the_release(tic_dir: Path, capsys):
    assert main(["check", "--data-dir", str(tic_dir)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("TIC release: data for April 2026")
    assert "Japan                          1,209.9" in out
    assert "Grand Total                    9,352.6" in out
    assert "Japan + China" in out
    assert "Foreign Official               3,906.5" in out
    assert "Foreign Official net long-term Treasury transactions" in out


@pytest.mark.slow  # `tic-alert check` on the real files (test_check_data_dir_prints_the_release is fast)
def test_check_json(tic_dir: Path, capsys):
    assert main(["check", "--data-dir", str(tic_dir), "--json", "--top", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["data_month"] == "2026-04"
    assert [h["entity"] for h in data["top_holders"]] == ["Japan", "United Kingdom", "China, Mainland"]
    japan = data["top_holders"][0]
    assert japan["value"] == 1209.9
    assert japan["change_1m"] == pytest.approx(18.3)
    assert japan["change_12m"] == pytest.approx(1209.9 - 1134.5)
    jc = next(g for g in data["groups"] if g["entity"] == "Japan + China")
    assert jc["value"] == pytest.approx(1861.0)
    assert jc["rank_3m"]["direction"] == "decline"
    assert jc["rank_3m"]["since"] == "2000-06"
    net = data["foreign_official_flows"]["net_lt"]
    assert net["month"] == "2026-04"
    assert net["value"] == pytest.approx(16.123)
    assert data["foreign_official"]["holdings"]["value"] == 3906.5


@pytest.mark.slow  # `tic-alert check` on the real files, over HTTP
def test_check_over_http(tic_dir: Path, serve, capsys):
    url = serve(tic_dir)
    assert main(["check", "--source-url", url, "--top", "2"]) == 0
    assert "TIC release: data for April 2026" in capsys.readouterr().out


def test_html_page_served_as_200_is_one_clear_error(tmp_path: Path, serve, capsys):
    for name in RELEASE_FILES:
        (tmp_path / name).write_text("<!DOCTYPE html><html><body>Maintenance</body></html>")
    url = serve(tmp_path)
    assert main(["check", "--source-url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tic-alert: error: slt_table5.txt: line 1: expected a Treasury text file")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_missing_file_over_http_is_an_error(tmp_path: Path, serve, capsys):
    url = serve(tmp_path)
    assert main(["check", "--source-url", url]) == 2
    assert "HTTP 404" in capsys.readouterr().err


def test_errors_are_one_line_without_traceback(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert (
        proc.stderr
        == f"tic-alert: error: data dir {tmp_path}: no slt_table5.txt (the release's headline file)\n"
    )


def test_broken_file_in_data_dir(tmp_path: Path, capsys):
    (tmp_path / "slt_table5.txt").write_bytes(b"Country\t2026-04\r\nJapan\t12x\r\n")
    assert main(["check", "--data-dir", str(tmp_path)]) == 2
    assert (
        "slt_table5.txt: line 2: expected a number for Japan 2026-04, found '12x'" in capsys.readouterr().err
    )


def test_a_misspelt_group_member_exits_non_zero_naming_it(tic_dir: Path, tmp_path: Path, capsys):
    config = tmp_path / "mine.toml"
    config.write_text('[groups]\n"Asia" = ["japan", "chyna"]\n')
    assert main(["--config", str(config), "check", "--data-dir", str(tic_dir)]) != 0
    err = capsys.readouterr().err
    assert '[groups] Asia = ["japan", "chyna"]: unknown country "chyna"' in err


@pytest.mark.slow  # `tic-alert check` twice on the real files
def test_the_subscriber_message_drops_internals_the_operator_sees_them(tic_dir: Path, capsys):
    assert main(["check", "--data-dir", str(tic_dir)]) == 0
    plain = capsys.readouterr().out
    assert "Files:" not in plain
    assert "cells differ" not in plain
    assert main(["check", "--data-dir", str(tic_dir), "--verbose"]) == 0
    assert "Files:" in capsys.readouterr().out
