"""Alerts worth reading, on hand-built panels (issue 8): like with like across breaks and gaps, the
roster as published then, parts in $bn, floors, one story told once, persisting conditions told
when they start or deepen, and the biggest story first."""

from __future__ import annotations

import pandas as pd
import pytest
from rule_panels import JC, panel, parsed, rule

from bot.data.panel import build_panel
from bot.data.parse import Break
from bot.errors import ConfigError
from bot.render.text import event_lines
from bot.rules.backtest import backtest
from bot.rules.history import History
from bot.rules.overrides import Override, check_overrides
from bot.rules.release import ReleaseCandidates


def mfh_panel(holdings, prior=None, brk=None, start="2020-01"):
    """Holdings as mfhhis01 prints them, with the old series' value at a break month."""
    cells = {(e, "holdings"): v for e, v in holdings.items()}
    for e, v in (prior or {}).items():
        cells[(e, "holdings_prior")] = v
    return build_panel([parsed("mfhhis01.txt", cells, start, [brk] if brk else [])], (JC,))


def pct_rule(**extra):
    body = (
        'id = "p"\ndescription = "p"\nkind = "change"\nentities = ["@major"]\nbasis = "holdings"\n'
        'window = 12\ndirection = "decline"\nunit = "pct"\nthreshold = 1\nseverity = "info"\n'
    )
    return rule(body + "".join(f"{k} = {v}\n" for k, v in extra.items()))


def test_a_percentage_across_a_break_is_chained_like_with_like_and_never_below_minus_100():
    # old series 100 → 10 into the break month (2020-07), new series 300 → 250 after it
    x = [100.0] * 6 + [300.0] * 6 + [250.0]
    prior = [None] * 6 + [10.0] + [None] * 6
    p = mfh_panel({"Netherlands": x}, {"Netherlands": prior}, Break(pd.Period("2020-07", "M"), "new", True))
    (e,) = backtest(p, [pct_rule()], "2021-01")
    # $bn chained: (10 - 100) + (250 - 300) = -140, which over a start of 100 read -140%
    assert e.value == pytest.approx((10 / 100 * 250 / 300 - 1) * 100, abs=1e-4)
    assert e.value >= -100


def test_a_rank_change_at_a_break_month_compares_the_old_series():
    brk = Break(pd.Period("2020-03", "M"), "new", True)
    holdings = {"Japan": [100.0, 100.0, 110.0], "Brazil": [90.0, 90.0, 120.0]}
    rank = rule(
        'id = "r"\ndescription = "r"\nkind = "rank_change"\nentities = ["@major"]\nbasis = "holdings"\n'
        'direction = "up"\nthreshold = 1\nseverity = "notable"\n'
    )
    # the new series puts Brazil first; on the old series (printed for comparison) it stays second
    p = mfh_panel(holdings, {"Japan": [None, None, 100.0], "Brazil": [None, None, 95.0]}, brk)
    assert backtest(p, [rank], "2020-01") == []
    # no comparison column: no event at all
    q = mfh_panel(holdings, None, Break(pd.Period("2020-03", "M"), "new", False))
    assert backtest(q, [rank], "2020-01") == []
    # no break: Brazil passed Japan
    assert [e.entity for e in backtest(mfh_panel(holdings), [rank], "2020-01")] == ["Brazil"]


def test_a_multi_year_low_needs_unbroken_months():
    low = rule(
        'id = "low"\ndescription = "low"\nkind = "multi_year"\nentities = ["@major"]\nbasis = "holdings"\n'
        'direction = "low"\nthreshold = 1\nseverity = "notable"\n'
    )
    # 2 years of data, a 2-year gap, then one month far lower
    x = [80.0] * 24 + [None] * 24 + [50.0, 49.0]
    assert backtest(panel({"El Salvador": x, "Japan": [500.0] * 50}), [low], "2020-01") == []


def test_the_roster_is_the_one_published_then():
    big = {f"C{i}": [100.0 + i] * 3 for i in range(10)}
    drop = rule(
        'id = "d"\ndescription = "d"\nkind = "change"\nentities = ["@major"]\nbasis = "holdings"\n'
        'window = 1\ndirection = "decline"\nthreshold = 0.5\nseverity = "info"\n'
    )
    # a newcomer back-filled at 2bn is far below the roster's 5th smallest holder: not on it then
    p = panel({**big, "El Salvador": [3.0, 2.0, 90.0]})
    assert [e.entity for e in backtest(p, [drop], "2020-01")] == []


def test_parts_of_a_percentage_move_are_in_bn_and_add_up():
    x = [100.0] * 12 + [60.0]
    flows = {("Poland", "net"): [0.0] * 12 + [-8.3]}
    p = panel({"Poland": x}, flows)
    (e,) = backtest(p, [pct_rule()], "2020-12")
    assert e.unit == "pct"
    assert e.value == pytest.approx(-40.0)
    assert sum(part.value for part in e.parts) == pytest.approx(-40.0)  # the $bn move, not the %
    assert e.parts[-1].value == pytest.approx(-31.7)


def record_rule(**extra):
    body = (
        'id = "rec"\ndescription = "rec"\nkind = "record"\nentities = ["@major", "@groups"]\n'
        'basis = "holdings"\nwindow = 3\ndirection = "decline"\nthreshold = 1\nmin_history = 3\n'
        'severity = "major"\n'
    )
    return rule(body + "".join(f"{k} = {v}\n" for k, v in extra.items()))


def test_floors_keep_small_records_quiet_and_subscribers_can_move_them():
    x = [50.0, 49.0, 48.0, 47.0, 46.5, 45.0, 44.0, 40.0]
    p = panel({"Uruguay": x, "Japan": [500.0] * 8})
    loud = record_rule()
    quiet = record_rule(floor=5, min_size=20)
    assert backtest(p, [loud], "2020-01")
    got = backtest(p, [quiet], "2020-01")
    assert [(e.end, e.value) for e in got] == [("2020-08", -6.5)]
    assert backtest(p, [quiet], "2020-01", overrides={"rec": Override(floor=10)}) == []
    assert len(backtest(p, [quiet], "2020-01", overrides={"rec": Override(floor=0)})) > 1
    release = ReleaseCandidates(p, [quiet], "2020-08")
    assert release.fire({"rec": Override(floor=10)}) == []
    assert len(release.fire()) == 1
    assert History(p).at(quiet, floor=10).releases == 0
    assert History(p).at(quiet).releases == 1
    with pytest.raises(ConfigError, match="floor"):
        check_overrides([quiet], {"rec": Override(floor=-1)})
    small = panel({"Uruguay": [v / 4 for v in x], "Japan": [500.0] * 8})  # a 10bn holder: below min_size
    assert backtest(small, [record_rule(min_size=20)], "2020-01") == []


def test_one_story_told_once_record_replaces_change_and_members_go_under_the_group():
    drop = rule(
        'id = "drop"\ndescription = "d"\nkind = "change"\nentities = ["@major", "@groups"]\n'
        'basis = "holdings"\nwindow = 3\ndirection = "decline"\nthreshold = 10\nseverity = "notable"\n'
    )
    jp = [1000.0, 1000.0, 1000.0, 1000.0, 990.0, 950.0, 900.0]
    cn = [800.0] * 6 + [780.0]
    p = panel({"Japan": jp, "China, Mainland": cn})
    events = ReleaseCandidates(p, [record_rule(), drop], "2020-07").fire()
    assert [(e.rule, e.entity) for e in events] == [("rec", "Japan + China")]
    (e,) = events
    assert e.value == pytest.approx(-120.0)
    assert set(e.suppressed) == {"Japan", "China, Mainland"}
    assert "of which Japan -100.0, China, Mainland -20.0" in event_lines(e)


def test_a_persisting_low_is_told_when_it_starts_and_when_it_deepens():
    low = rule(
        'id = "low"\ndescription = "low"\nkind = "multi_year"\nentities = ["@major"]\nbasis = "holdings"\n'
        'direction = "low"\nthreshold = 1\nseverity = "notable"\n'
    )
    # a $1tn holder rises for four years, then falls back: 1108 (lowest since Nov 2020), 1102
    # (lower, but still since Nov 2020), 1120 (higher), 1050 (lowest since Jun 2020)
    x = [1000.0 + 10 * i for i in range(48)] + [1108.0, 1102.0, 1120.0, 1050.0]
    got = backtest(panel({"China, Mainland": x, "Japan": [5000.0] * 52}), [low], "2020-01")
    assert [(e.end, e.extreme_since) for e in got] == [("2024-01", "2020-11"), ("2024-04", "2020-06")]


def test_a_streak_is_told_at_milestones_not_every_month():
    streak = rule(
        'id = "s"\ndescription = "s"\nkind = "streak"\nentity = "Foreign Official"\nbasis = "net"\n'
        'direction = "decline"\nthreshold = 3\nseverity = "notable"\n'
    )
    p = panel({"Grand Total": [1.0] * 14}, {("Foreign Official", "lt_net"): [1.0] + [-5.0] * 13})
    assert [e.streak for e in backtest(p, [streak], "2020-01")] == [3, 4, 6, 8, 12]


def test_the_biggest_story_comes_first():
    drop = rule(
        'id = "drop"\ndescription = "d"\nkind = "change"\nentities = ["@major", "Grand Total"]\n'
        'basis = "holdings"\nwindow = 3\ndirection = "decline"\nthreshold = 5\nseverity = "notable"\n'
    )
    rec = record_rule()
    p = panel(
        {
            "Peru": [40.0, 40.0, 40.0, 40.0, 40.0, 40.0, 33.0],
            "Grand Total": [9000.0] * 6 + [8720.0],
        }
    )
    events = ReleaseCandidates(p, [rec, drop], "2020-07").fire()
    assert [e.entity for e in events] == ["Grand Total", "Peru"]  # $280bn before a $7bn record
