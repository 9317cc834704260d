"""The [poller] settings: defaults, overrides, and bad values failing at startup with the key named."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.config import load_settings
from bot.errors import ConfigError


def test_defaults():
    p = load_settings(env={}).poller
    assert (p.window_start, p.window_end) == (dt.time(15, 59), dt.time(16, 45))
    assert (p.in_window_seconds, p.out_of_window_seconds) == (15, 3600)
    assert p.calendar().dates[0] == dt.date(2025, 1, 17)


def test_a_user_file_overrides_and_points_at_an_own_calendar(tmp_path):
    cal = tmp_path / "cal.toml"
    cal.write_text('timezone = "America/New_York"\nrelease_time = "16:00"\ndates = ["2027-01-15"]\n')
    user = tmp_path / "user.toml"
    user.write_text(f'[poller]\nin_window_seconds = 10\ncalendar_file = "{cal}"\n')
    p = load_settings(user, env={}).poller
    assert p.in_window_seconds == 10
    assert p.calendar().dates == (dt.date(2027, 1, 15),)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('window_start = "25:00"', "[poller] window_start"),
        ('window_end = "15:00"', '[poller] window_end = "15:00": must be after window_start (15:59)'),
        ("in_window_seconds = 0", "[poller] in_window_seconds = 0: must be ≥ 1"),
        ('out_of_window_seconds = "hourly"', "[poller] out_of_window_seconds"),
        ("failures_before_event = 0", "[poller] failures_before_event"),
        ("retries = -1", "[poller] retries"),
        ("tick_seconds = 30", "[poller] tick_seconds = 30: must not exceed in_window_seconds (15)"),
        ("cadence = 5", "[poller] cadence"),
        (
            'calendar_file = "/nonexistent/cal.toml"',
            '[poller] calendar_file = "/nonexistent/cal.toml": cannot read it',
        ),
    ],
)
def test_bad_values_fail_at_startup_naming_the_key(tmp_path, text, named):
    user = tmp_path / "user.toml"
    user.write_text(f"[poller]\n{text}\n")
    with pytest.raises(ConfigError, match=re.escape(named)):
        load_settings(user, env={})
