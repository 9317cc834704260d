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



def poller_settings(raw: dict[str, Any]) -> PollerSettings:
    """The [poller] section, range-checked; times of day are HH:MM."""
    values: dict[str, Any] = dict(raw)
    for key in ("window_start", "window_end"):
        if key in values:
            values[key] = parse_clock(values[key], f"config: poller.{key}")
    positive = ("in_window_seconds", "out_of_window_seconds", "tick_seconds", "companion_grace_minutes")
    for key in positive:
        if key in values and values[key] <= 0:
            raise ConfigError(f"config: poller.{key} must be > 0, found {values[key]!r}")
    for key in ("failures_before_event", "retries", "max_backoff_seconds", "retry_backoff_factor"):
        if key in values and values[key] < (1 if key == "failures_before_event" else 0):
            raise ConfigError(f"config: poller.{key} has a bad value {values[key]!r}")
    settings = PollerSettings(**values)
    if settings.window_start >= settings.window_end:
        raise ConfigError("config: poller.window_start must be before poller.window_end")
    if settings.tick_seconds > settings.in_window_seconds:
        raise ConfigError("config: poller.tick_seconds must not exceed poller.in_window_seconds")
    if settings.calendar_file:
        settings.calendar()  # a bad calendar fails at startup, naming its key
    return settings
