"""The poller's cadence: "is a poll due now?" as a pure function of the clock and the settings."""

from __future__ import annotations

import datetime as dt

from bot.watch.settings import PollerSettings


def poll_interval(fast: bool, failures: int, settings: PollerSettings) -> float:
    """Seconds between polls: fast in a window or while gathering, backed off after failures."""
    base = settings.in_window_seconds if fast else settings.out_of_window_seconds
    if failures <= 0:
        return base
    return min(base * 2 ** (failures - 1), max(base, settings.max_backoff_seconds))


def poll_due(
    now: dt.datetime,
    last_poll: dt.datetime | None,
    failures: int,
    in_window: dt.datetime | None,
    gathering: bool,
    settings: PollerSettings,
) -> bool:
    """Is a poll due at ``now``? ``in_window`` is the start of the window ``now`` is in, or None."""
    if last_poll is None:
        return True
    if in_window is not None and last_poll < in_window:
        return True  # the window just opened
    fast = in_window is not None or gathering
    return (now - last_poll).total_seconds() >= poll_interval(fast, failures, settings)
