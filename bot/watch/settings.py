"""The poller's settings: the [poller] section of the configuration, checked by its fields' bounds
(:mod:`bot.settings_schema`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.config_files import Toml
from bot.settings_schema import build, refuse, setting, shown
from bot.watch.calendar import Calendar, load_calendar


# Every number has a finite, sensible range, checked at startup (NaN and inf are refused): a value
# outside it would fail on every poll, poll once and never again, hang, or retry without a pause.
@dataclass(frozen=True)
class PollerSettings:
    """How often and when the poller asks the Treasury (times of day are U.S. Eastern)."""

    window_start: dt.time = setting(dt.time(15, 59))
    window_end: dt.time = setting(dt.time(16, 45))
    in_window_seconds: float = setting(15.0, lo=1, hi=3600)
    out_of_window_seconds: float = setting(3600.0, lo=1, hi=86_400)
    tick_seconds: float = setting(1.0, lo=0.1, hi=60)
    failures_before_event: int = setting(5, lo=1, hi=1000)
    max_backoff_seconds: float = setting(60.0, lo=1, hi=86_400)
    companion_grace_minutes: float = setting(45.0, lo=1, hi=1440)
    retries: int = setting(3, lo=1, hi=10)
    retry_backoff_factor: float = setting(0.5, lo=0.1, hi=60)
    calendar_file: str = setting("", chars=4096)  # "" = the packaged config/calendar.toml

    def calendar(self) -> Calendar:
        """The release calendar this poller follows."""
        if not self.calendar_file:
            return load_calendar()
        what = f"[poller] calendar_file = {shown(self.calendar_file)}"
        return load_calendar(Path(self.calendar_file).expanduser(), what)


def poller_settings(raw: Toml) -> PollerSettings:
    """The [poller] section, checked; times of day are HH:MM."""
    settings = build(PollerSettings, "poller", raw)
    if settings.window_start >= settings.window_end:
        end = raw.get("window_end", f"{settings.window_end:%H:%M}")
        raise refuse(
            "poller",
            "window_end",
            None,
            None,
            end,
            f"must be after window_start ({settings.window_start:%H:%M})",
        )
    if settings.tick_seconds > settings.in_window_seconds:
        problem = f"must not exceed in_window_seconds ({settings.in_window_seconds:g})"
        raise refuse(
            "poller", "tick_seconds", None, None, raw.get("tick_seconds", settings.tick_seconds), problem
        )
    if settings.calendar_file:
        settings.calendar()  # a bad calendar fails at startup, naming its key
    return settings
