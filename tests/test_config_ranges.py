"""Issue 9: every number in the settings has a finite, sensible range, checked at startup with the
key named; the CLI refuses absurd calendar arguments and a binary config file in one line."""

from __future__ import annotations

import re

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.errors import ConfigError


@pytest.mark.parametrize(
    ("section", "text", "named"),
    [
        ("source", "timeout_seconds = nan", "[source] timeout_seconds = "),
        ("source", "timeout_seconds = inf", "[source] timeout_seconds = "),
        ("source", "timeout_seconds = 0", "[source] timeout_seconds = "),
        ("source", "max_body_bytes = 0", "[source] max_body_bytes = "),
        ("source", "max_body_bytes = 100_000_000_000_000", "[source] max_body_bytes = "),
        ("poller", "companion_grace_minutes = 1e300", "[poller] companion_grace_minutes = "),
        ("poller", "companion_grace_minutes = nan", "[poller] companion_grace_minutes = "),
        ("poller", "in_window_seconds = nan", "[poller] in_window_seconds = "),
        ("poller", "in_window_seconds = inf", "[poller] in_window_seconds = "),
        ("poller", "out_of_window_seconds = -inf", "[poller] out_of_window_seconds = "),
        ("poller", "out_of_window_seconds = 1e12", "[poller] out_of_window_seconds = "),
        ("poller", "tick_seconds = nan", "[poller] tick_seconds = "),
        ("poller", "max_backoff_seconds = inf", "[poller] max_backoff_seconds = "),
        ("poller", "retries = 1000000000", "[poller] retries = "),
        ("poller", "retry_backoff_factor = nan", "[poller] retry_backoff_factor = "),
        ("poller", "retry_backoff_factor = 1e9", "[poller] retry_backoff_factor = "),
        ("poller", "failures_before_event = 10000000", "[poller] failures_before_event = "),
    ],
)
def test_edge_values_are_refused_naming_the_key(tmp_path, section, text, named):
    user = tmp_path / "user.toml"
    user.write_text(f"[{section}]\n{text}\n")
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_settings(user, env={})


@pytest.mark.parametrize(
    "argv",
    [
        ["calendar", "--count", "200000"],
        ["calendar", "--count", "0"],
        ["calendar", "--from", "9999-12-01"],
        ["calendar", "--from", "not-a-day"],
    ],
)
def test_absurd_calendar_arguments_are_one_clear_error(capsys, argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "internal error" not in err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("tic-alert calendar: error: argument")


def test_the_largest_count_still_works(capsys):
    assert main(["calendar", "--count", "120", "--from", "2026-01-01"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 121


@pytest.mark.parametrize("key", [None, "calendar_file"])
def test_a_binary_config_file_is_one_line_and_a_non_zero_exit(tmp_path, capsys, key):
    binary = tmp_path / "bin.toml"
    binary.write_bytes(bytes(range(256)) * 4)
    path = binary
    if key:
        path = tmp_path / "user.toml"
        path.write_text(f'[poller]\n{key} = "{binary}"\n')
    assert main(["--config", str(path), "calendar"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "not a UTF-8 text file" in err
    assert "internal" not in err
