"""``tic-alert poll --once`` and ``tic-alert calendar`` from the command line."""

from __future__ import annotations

import pytest
from treasury_server import FakeTreasury

from bot.cli import main
from bot.data.sources import HEADLINE


def test_poll_once_reports_the_release_then_nothing_new(tic_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIC_ALERT_DB", str(tmp_path / "tic.db"))
    monkeypatch.delenv("TIC_ALERT_CONFIG", raising=False)
    with FakeTreasury() as fake:
        for name in (HEADLINE, "slt_table3.txt", "mfhhis01.txt", "s1_globl.txt"):
            fake.publish(name, (tic_dir / name).read_bytes())
        assert main(["poll", "--once", "--source-url", fake.url]) == 0
        first = capsys.readouterr().out
        assert main(["poll", "--once", "--source-url", fake.url]) == 0
        second = capsys.readouterr().out
        assert fake.requests_for("s1_globl.txt")
        assert len(fake.requests_for("s1_globl.txt")) == 1
    assert first.startswith("new release 2026-04")
    assert "contains slt_table5.txt 2026-04, " in first
    assert "slt_table3.txt 2026-04" in first
    assert second.strip() == f"nothing new: {HEADLINE} not modified (304); newest release 2026-04"


def test_poll_once_reports_an_error_with_a_nonzero_exit(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIC_ALERT_DB", str(tmp_path / "tic.db"))
    with FakeTreasury() as fake:  # serves nothing: 404
        assert main(["poll", "--once", "--source-url", fake.url]) == 1
    assert capsys.readouterr().out.startswith("error (status): ")


def test_calendar_prints_et_and_utc(capsys):
    assert main(["calendar", "--from", "2026-11-25", "--count", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Tue 2026-12-15" in lines[1]
    assert "16:00 EST = 21:00 UTC  [2026-10]  official" in lines[1]
    assert "2027-01-19 .. Fri 2027-01-22" in lines[2]
    assert "estimated" in lines[2]
    assert "Thu 2027-02-18" in lines[3]


@pytest.mark.parametrize("command", ["poll", "calendar"])
def test_commands_have_help(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "usage: tic-alert " + command in capsys.readouterr().out
