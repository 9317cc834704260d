"""The TIC release calendar: official dates from config/calendar.toml, a fallback rule, windows.

Everything here is a pure function of its arguments (a :class:`Calendar` and ``now``);
times are computed in America/New_York with zoneinfo, so DST changes need no special case.

* A *slot* is one expected release: an official date, or, for a month without a known date,
  the run of candidate days of the fallback rule (the Nth business day + 0..k business days).
* A month with a postponed date and no other date (October 2025, the shutdown) has no slot.
* The data month of a release in month M is M-2 (a release may carry more, e.g. 2025-11-18
  carried August and September 2025: the newest is still M-2).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pandas.tseries.holiday import USFederalHolidayCalendar

from bot.config_files import Toml, read_toml
from bot.packaged import config_file
from bot.settings_schema import build, setting

UTC = dt.UTC
MAX_DATES = 1_000  # some 80 years of releases


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("unknown time zone") from None


@dataclass(frozen=True)
class Calendar:
    """Official and postponed release dates plus the fallback rule for the other months."""

    tz: ZoneInfo = setting(key="timezone", chars=100, parse=_zone)
    release_time: dt.time = setting()
    dates: tuple[dt.date, ...] = setting(items=MAX_DATES)
    postponed: tuple[dt.date, ...] = setting((), items=MAX_DATES)
    fallback_business_day: int = setting(11, lo=1, hi=20)
    fallback_extra_days: int = setting(3, lo=0, hi=5)

    @property
    def known_months(self) -> frozenset[tuple[int, int]]:
        return frozenset((d.year, d.month) for d in (*self.dates, *self.postponed))


@dataclass(frozen=True)
class Slot:
    """One expected release: its candidate days (one for an official date) and its data month."""

    days: tuple[dt.date, ...]
    official: bool
    data_month: str  # "YYYY-MM", the newest month the release should carry

    @property
    def key(self) -> str:
        """A stable name, e.g. ``2026-12-15`` or ``2027-03-16..2027-03-19``."""
        first, last = self.days[0], self.days[-1]
        return first.isoformat() if first == last else f"{first.isoformat()}..{last.isoformat()}"


@dataclass(frozen=True)
class Window:
    """The release window on one day of a slot, as aware datetimes."""

    slot: Slot
    day: dt.date
    start: dt.datetime
    end: dt.datetime


def load_calendar(source: str | Path | Traversable | None = None, what: str | None = None) -> Calendar:
    """Read and check a calendar TOML file (default: the packaged config/calendar.toml); ``what``
    names it in a refusal of the file itself (default "calendar file PATH")."""
    if source is None:
        source = config_file("calendar.toml")
    where = str(source)
    file = Path(source) if isinstance(source, str) else source
    data = read_toml(file, what or f"calendar file {where}")
    return calendar_from_dict(data, where)


def calendar_from_dict(data: Toml, where: str = "calendar") -> Calendar:
    """Build a Calendar from parsed TOML; a bad value is a ConfigError naming its key."""
    return build(Calendar, "calendar", data, within=None if where == "calendar" else f"calendar file {where}")


# --- business days -------------------------------------------------------------------------


@cache
def us_federal_holidays(year: int) -> frozenset[dt.date]:
    """The days of ``year`` on which a U.S. federal holiday is observed, from pandas'
    USFederalHolidayCalendar (its rules, as OPM's: Saturday → the Friday before, Sunday → the
    Monday after). Observed days are what count, across the year boundary too: New Year's Day
    2028 falls on a Saturday, so 31 December 2027 is a holiday of 2027 and 2028 has no 1 January."""
    observed = USFederalHolidayCalendar().holidays(dt.date(year, 1, 1), dt.date(year, 12, 31))
    return frozenset(day.date() for day in observed)


def business_days(year: int, month: int) -> list[dt.date]:
    """Weekdays of the month that are not federal holidays."""
    holidays = us_federal_holidays(year)
    day = dt.date(year, month, 1)
    out = []
    while day.month == month:
        if day.weekday() < 5 and day not in holidays:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


# --- slots and windows ---------------------------------------------------------------------


def data_month(release_day: dt.date) -> str:
    """The newest data month a release published on ``release_day`` carries (M-2)."""
    year, month = divmod(release_day.year * 12 + release_day.month - 1 - 2, 12)
    return f"{year:04d}-{month + 1:02d}"


def slots_in_month(cal: Calendar, year: int, month: int) -> list[Slot]:
    """The releases expected in a month: official dates, or the fallback run, or none (postponed)."""
    if (year, month) in cal.known_months:
        return [Slot((d,), True, data_month(d)) for d in cal.dates if (d.year, d.month) == (year, month)]
    days = business_days(year, month)
    start = cal.fallback_business_day - 1
    run = tuple(days[start : start + 1 + cal.fallback_extra_days])
    return [Slot(run, False, data_month(run[0]))] if run else []


def _months_from(year: int, month: int) -> Iterator[tuple[int, int]]:
    while True:
        yield year, month
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def release_moment(cal: Calendar, day: dt.date) -> dt.datetime:
    """4:00 p.m. (the configured release time) on ``day`` in the calendar's zone."""
    return dt.datetime.combine(day, cal.release_time, tzinfo=cal.tz)


def next_slots(cal: Calendar, now: dt.datetime, count: int) -> list[Slot]:
    """The next ``count`` expected releases whose last candidate day's release time is ≥ ``now``."""
    local = now.astimezone(cal.tz)
    out: list[Slot] = []
    for year, month in _months_from(local.year, local.month):
        for slot in slots_in_month(cal, year, month):
            if release_moment(cal, slot.days[-1]) >= now:
                out.append(slot)
        if len(out) >= count:
            return out[:count]
    raise AssertionError("unreachable")  # pragma: no cover


def window_on(cal: Calendar, day: dt.date, start: dt.time, end: dt.time) -> Window | None:
    """The release window on ``day`` if it is a release or fallback day, else None."""
    for slot in slots_in_month(cal, day.year, day.month):
        if day in slot.days:
            return Window(
                slot,
                day,
                dt.datetime.combine(day, start, tzinfo=cal.tz),
                dt.datetime.combine(day, end, tzinfo=cal.tz),
            )
    return None


def window_at(cal: Calendar, now: dt.datetime, start: dt.time, end: dt.time) -> Window | None:
    """The window ``now`` falls in (start inclusive, end exclusive), else None."""
    window = window_on(cal, now.astimezone(cal.tz).date(), start, end)
    return window if window and window.start <= now < window.end else None


def finished_slots(
    cal: Calendar, now: dt.datetime, end: dt.time, lookback: dt.timedelta = dt.timedelta(days=3)
) -> list[Slot]:
    """Slots whose last window closed in (now - lookback, now]: the ones a dead-man check looks at."""
    local = now.astimezone(cal.tz)
    earliest = now - lookback
    year, month = divmod(local.year * 12 + local.month - 2, 12)
    out = []
    for y, m in ((year, month + 1), (local.year, local.month)):
        for slot in slots_in_month(cal, y, m):
            closes = dt.datetime.combine(slot.days[-1], end, tzinfo=cal.tz)
            if earliest < closes <= now:
                out.append(slot)
    return out
