"""Stories, round two, on the real files and on small panels, both directions each: a top-3 place
in history is rare however recent the larger one, every record of the largest holders is told
(the not-rare ones in one round-up), a member's own claim is a line of its group's story, a low
is re-told the month its "since" reaches an earlier year, and holders below the $100bn floors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from rule_panels import panel, rule

from bot.render.stories import member_line, rank_phrase
from bot.render.text import story_lines
from bot.rules.backtest import backtest
from bot.rules.events import stories
from bot.rules.rarity import rank_years


def one(history, release: str, rule_id: str, entity: str):
    found = [e for e in history if e.release == release and e.rule == rule_id and e.entity == entity]
    assert len(found) == 1, (release, rule_id, entity)
    return found[0]


def story_of(history, release: str, entity: str):
    (s,) = [s for s in stories(e for e in history if e.release == release) if s.lead.entity == entity]
    return s


# --- rank as well as recency -------------------------------------------------------------------


def test_rank_years_is_history_over_place_for_the_2nd_and_3rd_only():
    assert rank_years(2, 180) == pytest.approx(7.5)  # the 2nd largest in 15 years: one in 7.5
    assert rank_years(3, 180) == pytest.approx(5.0)
    assert rank_years(2, 312) == pytest.approx(10.0)  # 26 years count as a record's: at most 20
    assert list(rank_years(np.array([1, 4, 0]), 312)) == [0.0, 0.0, 0.0]  # a record, 4th: recency
    assert rank_years(2, 312, recent=True) == 0.0  # the larger one shares its window


def test_a_2nd_largest_fall_is_told_though_the_largest_was_2_5_years_before(history):
    e = one(history, "2022-09", "largest-1m-decline", "Grand Total")
    assert (e.value, e.extreme_since, e.rank.rank) == (-241.2, "2020-03", 2)  # 2.5 years < 3
    assert e.rarity == pytest.approx(10.0)  # 22.5 years of history (capped at 20) over 2nd place
    assert rank_phrase(e).startswith("the largest monthly decline since Mar 2020 (2nd largest on record")


def test_a_2nd_largest_rise_is_told_though_the_largest_was_2_4_years_before(history):
    e = one(history, "2023-11", "largest-1m-increase", "Grand Total")
    assert (e.value, e.extreme_since, e.rank.rank) == (239.6, "2021-06", 2)  # 2.4 years < 5
    assert rank_phrase(e).startswith("the largest monthly increase since Jun 2021 (2nd largest on record")


def test_a_place_behind_a_larger_one_of_the_same_episode_gets_no_rank_rarity(history):
    # Aug 2015: China + Belgium's 3-month fall (-91.9) is the 3rd largest on record, but the
    # larger one ended in May 2015, a quarter before: the same episode, rare as its recency only
    e = one(history, "2015-08", "holdings-3m-drop", "China + Belgium")
    assert (e.rank.rank, e.extreme_since, e.rarity) == (3, "2015-05", 0.25)


# --- every record of the largest ---------------------------------------------------------------


def test_the_largest_holders_record_highs_are_one_round_up_story(history):
    """May 2005: the UK's, China's and the Foreign Official sector's record highs (and the UK's
    4-month rise), none rare, are one story, the release's round-up, its last."""
    told = stories(e for e in history if e.release == "2005-05")
    (s,) = [s for s in told if s.roundup]
    assert s is told[-1]
    highs = {e.entity for e in s.events if e.rule == "multi-year-high"}
    assert highs == {"United Kingdom", "China, Mainland", "Foreign Official"}
    assert all(e.extreme_since is None and e.rarity < 2 for e in s.events if e.rule == "multi-year-high")
    lines = story_lines(s)
    assert lines[0].startswith("Also: United Kingdom: holdings rose for the 4th month running")
    assert "– China, Mainland holdings at 243.1bn in May 2005: a record high (5.2 years of data)" in lines


def _level_rule(direction: str):
    return rule(
        f'id = "{direction}"\ndescription = "{direction}"\nkind = "multi_year"\nentities = ["@major"]\n'
        f'basis = "holdings"\ndirection = "{direction}"\nthreshold = 2\nseverity = "notable"\n'
    )


@pytest.mark.parametrize("direction", ["low", "high"])
def test_every_record_of_a_top_3_holder_is_told_not_of_a_4th(direction):
    """Four holders move the same way (a new record every month); the three largest are told
    every month, the 4th only when the extreme it beats is its horizon old (never here)."""
    step = -1.0 if direction == "low" else 1.0
    path = [step * i for i in range(96)]
    p = panel(
        {
            "Japan": [1000 + x for x in path],
            "China, Mainland": [900 + x for x in path],
            "United Kingdom": [800 + x for x in path],
            "Belgium": [300 + x for x in path],
        }
    )
    events = backtest(p, [_level_rule(direction)], "2020-01")
    japan = {e.end for e in events if e.entity == "Japan"}
    # from five years of data on (levels.RECORD_HISTORY: "a record" in two years says little)
    assert {str(m) for m in pd.period_range("2025-01", "2027-12", freq="M")} <= japan
    assert not {m for m in japan if m < "2025-01"}
    assert all(e.extreme_since is None for e in events if e.entity == "Japan")
    assert len([e for e in events if e.entity == "Belgium"]) <= 1  # at most when it starts


# --- a member's own claim is its own line ------------------------------------------------------


def test_a_members_own_low_is_a_line_of_its_groups_low(history):
    s = story_of(history, "2019-11", "China + Belgium")
    (china,) = s.lead.members
    assert member_line(china) == "China, Mainland at 1,089.1bn, the lowest since Mar 2017"
    assert "– China, Mainland at 1,089.1bn, the lowest since Mar 2017" in story_lines(s)


def test_a_members_own_record_high_is_a_line_of_its_groups_high(history):
    s = story_of(history, "2021-07", "Japan + China")
    assert "– Japan at 1,310.2bn, a record high" in story_lines(s)


def test_a_members_move_with_its_own_line_is_not_also_a_figure_in_of_which(history):
    # Nov 2016: China's 3-month fall ends at its lowest since 2010, a claim of its own: a line of
    # Japan + China's story, not also "of which China -135.8"; the one-month fall keeps its figure
    lines = story_lines(story_of(history, "2016-11", "Japan + China"))
    assert "– China, Mainland -135.8, to 1,049.3bn, the lowest since May 2010" in lines
    assert not [x for x in lines if x.startswith("of which ") and "-135.8" in x]
    assert "of which China, Mainland -66.4" in lines
    # Oct 2022: Japan's and China's lows are stories of their own; Japan + China's says their
    # moves as figures only (not the same low twice in one release)
    lines = story_lines(story_of(history, "2022-10", "Japan + China"))
    assert "of which Japan -166.3, China, Mainland -61.3" in lines
    assert not [x for x in lines if x.startswith("– Japan") or x.startswith("– China")]
    assert story_of(history, "2022-10", "Japan").lead.rule == "multi-year-low"


# --- a new extreme in the month it happens -----------------------------------------------------


def test_a_low_is_re_told_the_month_its_since_reaches_an_earlier_year(history):
    said = [x for e in history for x in (e, *e.members)]  # Japan's low is a line of Japan + China's
    japan = {e.release: e for e in said if e.rule == "multi-year-low" and e.entity == "Japan"}
    # Mar 2022 told "since Jan 2020"; Aug 2022 "since Dec 2019": a month further back, but 2019
    assert "2022-08" in japan
    assert japan["2022-08"].extreme_since == "2019-12"


def test_a_high_is_re_told_the_month_its_since_reaches_an_earlier_year():
    """A $1tn holder, not one of the three largest, 2000-01 → 2020-03: falling 2bn a month to
    Dec 2005, flat at 1000 after. Jan 2020 at 1,377: the highest since Feb 2005 (15 years), told.
    Feb 2020 at 1,379: since Jan 2005, a month further back (less than 2% of 15 years) in the same
    year: not news. Mar 2020 at 1,381: since Dec 2004, 2 months further back than the one told,
    but an earlier year ("the highest since 2004"): told that month."""
    levels = [1500.0 - 2 * i for i in range(72)] + [1000.0] * 168 + [1377.0, 1379.0, 1381.0]
    larger = [5000.0] * len(levels)  # Japan 4th: not one of the largest, re-told only as above
    p = panel(
        {"Japan": levels, "China, Mainland": larger, "United Kingdom": larger, "Belgium": larger},
        start="2000-01",
    )
    events = backtest(p, [_level_rule("high")], "2019-12")
    assert [(e.end, e.extreme_since) for e in events if e.entity == "Japan"] == [
        ("2020-01", "2005-02"),
        ("2020-03", "2004-12"),
    ]


# --- holders the press follows below the size floor --------------------------------------------


def test_a_holder_losing_half_in_one_month(history):
    e = one(history, "2018-04", "share-1m-collapse", "Russia")
    assert e.value == pytest.approx(-49.3, abs=0.05)  # per cent
    assert "Russia holdings fell 49.3% in one month" in story_lines(story_of(history, "2018-04", "Russia"))[0]


def test_a_holder_losing_two_thirds_in_three_months(history):
    e = one(history, "2007-02", "share-3m-collapse", "Norway")
    assert e.value == pytest.approx(-65.0, abs=0.05)


@pytest.mark.parametrize(
    ("release", "entity", "direction", "since"),
    [("2020-04", "Colombia", "low", "2012-05"), ("2016-11", "Norway", "low", "2011-11")],
)
def test_a_mid_size_holders_five_year_low(history, release, entity, direction, since):
    e = one(history, release, f"multi-year-{direction}", entity)
    assert e.value < 100 and e.extreme_since == since


def test_streaks_of_holders_below_75bn_both_ways(history):
    down = one(history, "2016-08", "holdings-decline-streak", "Mexico")
    assert (down.streak, down.value) == (6, -26.1)
    up = one(history, "2010-09", "holdings-rise-streak", "Canada")
    assert up.streak == 16 and up.value > 0
    assert "for the 16th month running" in story_lines(story_of(history, "2010-09", "Canada"))[0]
