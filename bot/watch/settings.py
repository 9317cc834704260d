"""The poller's settings: the [poller] section of the configuration, range-checked."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.errors import ConfigError
from bot.watch.calendar import Calendar, load_calendar, parse_clock


@dataclass(frozen=True)
class PollerSettings:
    """How often and when the poller asks the Treasury (times of day are U.S. Eastern)."""

    window_start: dt.time = dt.time(15, 59)
    window_end: dt.time = dt.time(16, 45)
    in_window_seconds: float = 15.0
    out_of_window_seconds: float = 3600.0
    tick_seconds: float = 1.0
    failures_before_event: int = 5
    max_backoff_seconds: float = 60.0
    companion_grace_minutes: float = 45.0
    retries: int = 3
    retry_backoff_factor: float = 0.5
    calendar_file: str = ""  # "" = the packaged config/calendar.toml

    def calendar(self) -> Calendar:
        """The release calendar this poller follows."""
        return load_calendar(Path(self.calendar_file).expanduser() if self.calendar_file else None)


# Every number has a finite, sensible range, checked at startup (NaN and inf are refused):
# a value outside it would fail on every poll, poll once and never again, or hang.
RANGES: dict[str, tuple[float, float]] = {
    "in_window_seconds": (1, 3600),
    "out_of_window_seconds": (1, 86400),
    "tick_seconds": (0.01, 60),
    "failures_before_event": (1, 1000),
    "max_backoff_seconds": (0, 86400),
    "companion_grace_minutes": (1, 1440),
    "retries": (0, 10),
    "retry_backoff_factor": (0, 60),
}


def poller_settings(raw: dict[str, Any]) -> PollerSettings:
    """The [poller] section, range-checked; times of day are HH:MM."""
    values: dict[str, Any] = dict(raw)
    for key in ("window_start", "window_end"):
        if key in values:
            values[key] = parse_clock(values[key], f"config: poller.{key}")
    for key, (lo, hi) in RANGES.items():
        if key in values and not lo <= values[key] <= hi:  # NaN fails both comparisons
            raise ConfigError(f"config: poller.{key} must be {lo:g}..{hi:g}, found {values[key]!r}")
    settings = PollerSettings(**values)
    if settings.window_start >= settings.window_end:
        raise ConfigError("config: poller.window_start must be before poller.window_end")
    if settings.tick_seconds > settings.in_window_seconds:
        raise ConfigError("config: poller.tick_seconds must not exceed poller.in_window_seconds")
    if settings.calendar_file:
        settings.calendar()  # a bad calendar fails at startup, naming its key
    return settings
