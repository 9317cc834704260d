"""The story model on the real files: highs as well as lows, "largest since", the member before
its group, a low told again when rarer, one-month net records, and rarity ordering."""

from __future__ import annotations

from dataclasses import replace

import pytest
from rule_panels import cut

from bot.render.stories import headline, rank_phrase
from bot.rules.backtest import backtest
from bot.rules.release import ReleaseCandidates


def told(history, release: str):
    return [e for e in history if e.release == release]


def one(history, release: str, rule: str, entity: str):
    found = [e for e in told(history, release) if e.rule == rule and e.entity == entity]
    assert len(found) == 1, (release, rule, entity, [(e.rule, e.entity) for e in told(history, release)])
    return found[0]


def test_grand_total_record_high(history):
    e = one(history, "2023-12", "multi-year-high", "Grand Total")
    assert e.extreme_since is None and e.value == pytest.approx(7940.0, abs=0.05)
    assert "a record high" in headline(e)


def test_a_record_low_and_a_record_fall_tell_the_other_direction(history):
    e = one(history, "2025-10", "multi-year-low", "China, Mainland")
    assert headline(e).endswith("lowest since Oct 2008 (17 years)")
    fall = one(history, "2026-01", "record-1m-decline", "Canada")
    rise = one(history, "2008-09", "record-1m-increase", "China, Mainland")
    assert fall.value < 0 < rise.value and "rose a record" in headline(rise)


def test_a_top_holder_two_to_five_year_low(history):
    e = one(history, "2015-11", "multi-year-low", "Japan")
    assert 2 <= e.metric <= 5 and e.extreme_since == "2013-07"
    assert headline(e).endswith("lowest since Jul 2013 (2.3 years)")


def test_largest_since_a_move_that_is_not_a_record(history):
    e = one(history, "2026-03", "largest-1m-decline", "China, Mainland")
    assert e.rank.rank == 4 and e.extreme_since == "2016-11"
    assert rank_phrase(e).startswith("largest monthly decline since Nov 2016 (4th largest of ")
    up = one(history, "2026-02", "largest-1m-increase", "Saudi Arabia")
    assert up.value > 0 and "rose a record" in headline(up)  # a largest-since that is a record says so


def test_a_members_rarer_record_leads_its_group(history):
    stories = told(history, "2008-09")
    china = next(i for i, e in enumerate(stories) if e.entity == "China, Mainland")
    group = next(i for i, e in enumerate(stories) if e.entity == "China + Belgium")
    assert china < group
    assert "China, Mainland" in stories[group].suppressed  # the group line keeps its split


def test_a_persisting_low_is_told_again_when_rarer_not_every_month(history):
    lows = [e for e in history if e.rule == "multi-year-low" and e.entity == "China, Mainland"]
    months = [e.release for e in lows]
    told = dict(zip(months, lows, strict=True))
    assert told["2025-10"].metric == 17 and told["2026-03"].metric == 17.5  # lower, since an earlier date
    assert told["2026-03"].value < told["2025-10"].value
    quiet = [m for m in ("2025-11", "2025-12", "2026-01", "2026-02") if m not in told]
    assert quiet  # months that were low but not lower than the low last told stay quiet


def test_one_month_net_records_both_signs(history):
    sold = one(history, "2026-01", "record-1m-net-selling", "Canada")  # SLT Table 3
    assert sold.value == pytest.approx(-76.7, abs=0.05) and "record net sales" in headline(sold)
    bought = one(history, "2009-06", "record-1m-net-buying", "Grand Total")  # Form S
    assert bought.value > 100 and "record net purchases" in headline(bought)


def test_rising_and_falling_streaks(history):
    up = one(history, "2011-02", "holdings-rise-streak", "United Kingdom")
    assert up.streak == 16 and "rose for the 16th month running" in headline(up)
    assert any(e.rule == "holdings-decline-streak" for e in history)


def test_the_2022_10_record_is_first_or_second(history):
    stories = told(history, "2022-10")
    place = next(i for i, e in enumerate(stories) if e.entity == "Japan + China" and e.value == -227.6)
    assert place <= 1
    assert [e.rarity for e in stories] == sorted((e.rarity for e in stories), key=lambda r: -int(r))


def test_backtest_equals_live_for_the_new_kinds(real_panel, rules, metrics):
    new = {"multi-year-high", "largest-1m-decline", "largest-3m-increase", "record-1m-net-buying"}
    chosen = [r for r in rules if r.id in new]
    for month in ("2016-10", "2023-12", "2026-03"):
        live = ReleaseCandidates(cut(real_panel, month), chosen, month).fire()
        replay = backtest(real_panel, chosen, month, month, metrics=metrics)
        strip = [replace(e, suppressed=(), folded=()) for e in live]
        assert [(e.key, e.value, e.extreme_since) for e in strip] == [
            (e.key, e.value, e.extreme_since) for e in replay
        ]
