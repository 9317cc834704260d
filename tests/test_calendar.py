"""The release calendar and the poll cadence: pure functions of ``now``, across DST and the shutdown."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from poll_helpers import et

from bot.errors import ConfigError
from bot.watch.cadence import poll_due, poll_interval
from bot.watch.calendar import (
    business_days,
    calendar_from_dict,
    finished_slots,
    load_calendar,
    next_slots,
    release_moment,
    slots_in_month,
    us_federal_holidays,
    window_at,
)
from bot.watch.settings import PollerSettings

CAL = load_calendar()
START, END = dt.time(15, 59), dt.time(16, 45)
UTC = dt.UTC


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_official_dates_are_in_the_packaged_calendar():
    assert len(CAL.dates) == 11 + 12 + 1
    assert dt.date(2027, 2, 18) in CAL.dates
    assert dt.date(2025, 10, 17) in CAL.postponed


@pytest.mark.parametrize(
    ("day", "utc_hour"),
    [
        (dt.date(2026, 2, 18), 21),  # EST
        (dt.date(2026, 3, 18), 20),  # EDT (DST began 2026-03-08)
        (dt.date(2026, 10, 16), 20),  # EDT
        (dt.date(2026, 11, 18), 21),  # EST (DST ended 2026-11-01)
        (dt.date(2025, 3, 19), 20),  # EDT (DST began 2025-03-09)
        (dt.date(2025, 11, 18), 21),
    ],
)
def test_release_moment_is_4pm_eastern_across_dst(day, utc_hour):
    moment = release_moment(CAL, day)
    assert (moment.hour, moment.astimezone(UTC).hour) == (16, utc_hour)


def test_window_follows_dst():
    # 15:59 ET is 19:59 UTC in March (EDT) and 20:59 UTC in February (EST)
    assert window_at(CAL, utc(2026, 3, 18, 19, 59), START, END) is not None
    assert window_at(CAL, utc(2026, 3, 18, 19, 58, 59), START, END) is None
    assert window_at(CAL, utc(2026, 3, 18, 20, 45), START, END) is None  # 16:45 EDT: closed
    assert window_at(CAL, utc(2026, 2, 18, 20, 59), START, END) is not None
    assert window_at(CAL, utc(2026, 2, 18, 20, 30), START, END) is None  # 15:30 EST
    assert window_at(CAL, utc(2026, 11, 18, 21, 44, 59), START, END) is not None
    assert window_at(CAL, utc(2026, 11, 17, 21, 0), START, END) is None  # not a release day


def test_shutdown_october_2025_has_no_release_and_november_carries_september():
    assert slots_in_month(CAL, 2025, 10) == []
    assert window_at(CAL, et(2025, 10, 17, 16, 0), START, END) is None
    nxt = next_slots(CAL, et(2025, 9, 18, 16, 1), 1)[0]
    assert nxt.days == (dt.date(2025, 11, 18),)
    assert nxt.official
    assert nxt.data_month == "2025-09"
    # no dead-man for the postponed date
    assert finished_slots(CAL, et(2025, 10, 17, 17, 0), END) == []


def test_fallback_rule_for_months_without_a_date():
    jan = slots_in_month(CAL, 2027, 1)[0]  # Jan 1 and Jan 18 (MLK) are holidays
    assert jan.days == tuple(dt.date(2027, 1, d) for d in (19, 20, 21, 22))
    assert not jan.official
    assert jan.data_month == "2026-11"
    mar = slots_in_month(CAL, 2027, 3)[0]
    assert mar.days == tuple(dt.date(2027, 3, d) for d in (15, 16, 17, 18))
    # every candidate day gets a window; the key names the run
    assert window_at(CAL, et(2027, 3, 17, 16, 10), START, END).slot == mar
    assert mar.key == "2027-03-15..2027-03-18"


def test_the_rule_against_the_official_dates():
    """The rule is a guess: two official dates fall before its run, which is why dates live in config."""
    rule = calendar_from_dict({"timezone": "America/New_York", "release_time": "16:00", "dates": []})
    outside = {d for d in CAL.dates if d not in slots_in_month(rule, d.year, d.month)[0].days}
    assert outside == {dt.date(2026, 1, 15), dt.date(2026, 7, 14)}


def test_federal_holidays_observed():
    h2026 = us_federal_holidays(2026)
    assert dt.date(2026, 7, 3) in h2026  # July 4 is a Saturday
    assert dt.date(2026, 1, 19) in h2026
    assert dt.date(2026, 11, 26) in h2026
    assert dt.date(2027, 12, 24) in us_federal_holidays(2027)  # Christmas on a Saturday


def test_the_federal_holidays_of_2027_as_opm_lists_them():
    assert sorted(us_federal_holidays(2027)) == [
        dt.date(2027, 1, 1),
        dt.date(2027, 1, 18),  # Martin Luther King Jr.
        dt.date(2027, 2, 15),  # Washington's Birthday
        dt.date(2027, 5, 31),  # Memorial Day
        dt.date(2027, 6, 18),  # Juneteenth, a Saturday
        dt.date(2027, 7, 5),  # Independence Day, a Sunday
        dt.date(2027, 9, 6),
        dt.date(2027, 10, 11),
        dt.date(2027, 11, 11),
        dt.date(2027, 11, 25),
        dt.date(2027, 12, 24),  # Christmas, a Saturday
        dt.date(2027, 12, 31),  # New Year's Day 2028, a Saturday
    ]


@pytest.mark.parametrize("year", [2021, 2027, 2032])
def test_new_years_day_on_a_saturday_is_observed_the_friday_before_in_the_old_year(year: int):
    """Issue 26: 31 Dec 2027 counted as a business day (each year's holidays were computed from
    that year's dates alone, and New Year's Day 2028 is observed in 2027)."""
    new_year, eve = dt.date(year + 1, 1, 1), dt.date(year, 12, 31)
    assert new_year.weekday() == 5 and eve.weekday() == 4
    assert eve in us_federal_holidays(year)
    assert business_days(year, 12)[-1] == dt.date(year, 12, 30)
    assert new_year not in us_federal_holidays(year + 1)  # nothing is observed on the Saturday
    assert min(us_federal_holidays(year + 1)) > dt.date(year + 1, 1, 14)  # and no Monday after
    assert business_days(year + 1, 1)[0] == dt.date(year + 1, 1, 3)


@pytest.mark.parametrize("year", [2023, 2034])
def test_new_years_day_on_a_sunday_is_observed_the_monday_after(year: int):
    assert dt.date(year, 1, 1).weekday() == 6
    assert dt.date(year, 1, 2) in us_federal_holidays(year)
    assert dt.date(year - 1, 12, 31) not in us_federal_holidays(year - 1)
    assert business_days(year, 1)[0] == dt.date(year, 1, 3)


def test_next_slots_from_today():
    slots = next_slots(CAL, et(2026, 11, 25, 12, 0), 3)
    assert [s.key for s in slots] == ["2026-12-15", "2027-01-19..2027-01-22", "2027-02-18"]
    # a release day counts until its release moment has passed
    assert next_slots(CAL, et(2026, 12, 15, 15, 0), 1)[0].key == "2026-12-15"
    assert next_slots(CAL, et(2026, 12, 15, 16, 1), 1)[0].key == "2027-01-19..2027-01-22"


def test_finished_slots_for_the_dead_man_check():
    assert finished_slots(CAL, et(2026, 12, 15, 16, 44), END) == []
    assert [s.key for s in finished_slots(CAL, et(2026, 12, 15, 16, 45), END)] == ["2026-12-15"]
    # a fallback run is finished only after its last day
    assert finished_slots(CAL, et(2027, 1, 19, 17, 0), END) == []
    assert [s.key for s in finished_slots(CAL, et(2027, 1, 22, 16, 45), END)] == ["2027-01-19..2027-01-22"]


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"timezone": "Mars/Olympus"}, "[calendar] timezone = "),
        ({"release_time": "4pm"}, "[calendar] release_time = "),
        ({"dates": ["2026-13-01"]}, "[calendar] dates = "),
        ({"dates": ["2026-12-15", "2026-12-15"]}, "[calendar] dates = "),
        ({"postponed": "2025-10-17"}, "[calendar] postponed = "),
        ({"fallback_business_day": 30}, "[calendar] fallback_business_day = "),
        ({"whenever": 1}, "[calendar] whenever = "),
    ],
)
def test_bad_calendar_values_name_the_key(data, named):
    base = {"timezone": "America/New_York", "release_time": "16:00", "dates": ["2026-12-15"]}
    with pytest.raises(ConfigError, match="^" + re.escape(named)):
        calendar_from_dict({**base, **data})


# --- cadence -------------------------------------------------------------------------------

S = PollerSettings()


def test_poll_due_inside_and_outside_the_window():
    start = et(2026, 12, 15, 15, 59)
    last = et(2026, 12, 15, 16, 0, 0)
    assert not poll_due(last + dt.timedelta(seconds=14.9), last, 0, start, False, S)
    assert poll_due(last + dt.timedelta(seconds=15), last, 0, start, False, S)
    # outside: hourly
    noon = et(2026, 12, 14, 12, 0)
    assert not poll_due(noon + dt.timedelta(minutes=59), noon, 0, None, False, S)
    assert poll_due(noon + dt.timedelta(hours=1), noon, 0, None, False, S)
    # the window opening makes a poll due at once, whatever the last poll
    assert poll_due(start, et(2026, 12, 15, 15, 30), 0, start, False, S)
    # while a release is gathering its companions, fast even outside a window
    assert poll_due(noon + dt.timedelta(seconds=15), noon, 0, None, True, S)


def test_backoff_after_failures():
    assert [poll_interval(True, n, S) for n in range(5)] == [15, 15, 30, 60, 60]
    assert [poll_interval(False, n, S) for n in range(3)] == [3600, 3600, 3600]
    last = et(2026, 12, 15, 16, 0)
    assert not poll_due(last + dt.timedelta(seconds=20), last, 2, et(2026, 12, 15, 15, 59), False, S)
