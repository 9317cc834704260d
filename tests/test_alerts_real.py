"""Alerts worth reading, on the real Treasury files (issue 8): the big story first, nothing across
breaks, gaps or later rosters, and the replay within the noise bar."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from bot.render.text import event_lines
from bot.rules.backtest import backtest


def at(history, release):
    return [e for e in history if e.release == release]


def test_the_2022_10_japan_china_record_leads(history):
    events = at(history, "2022-10")
    first_two = [(e.rule, e.entity) for e in events[:2]]
    assert ("record-3m-decline", "Japan + China") in first_two
    e = next(e for e in events if e.entity == "Japan + China" and e.rule == "record-3m-decline")
    assert e.value == pytest.approx(-227.6, abs=1e-6)
    assert (e.rank.rank, e.rank.since, e.rank.previous) == (1, "2000-06", (-171.2, "2016-11"))
    assert e.parts[0].value == pytest.approx(-29.57, abs=1e-6)
    assert dict(e.parts[0].members) == pytest.approx({"Japan": -46.493, "China, Mainland": 16.923}, abs=1e-6)
    assert {"Japan", "China, Mainland"} <= set(e.suppressed)  # the members are told under the group
    lines = event_lines(e)
    assert any(line.startswith("largest 3-month decline since 2000-06") for line in lines)


def test_the_2016_flows_record_and_the_2013_taper_tantrum_still_fire(history):
    e = next(
        e for e in at(history, "2016-02") if e.rule == "record-3m-net-selling" and e.entity == "Japan + China"
    )
    assert e.value == pytest.approx(-118.851, abs=1e-6)
    taper = [e for e in history if e.release.startswith("2013-0") and e.rule.startswith("record-")]
    assert {e.entity for e in taper} >= {"Grand Total", "Foreign Official"}


def test_no_rank_change_on_a_june_break_month(history, real_panel):
    june_breaks = {str(a.brk.period) for a in real_panel.breaks if str(a.brk.period).endswith("-06")}
    assert len(june_breaks) >= 9
    assert [e.key for e in history if e.kind == "rank_change" and e.release in june_breaks] == []


def test_a_percentage_is_never_below_minus_100(history, metrics, rules):
    assert all(e.value >= -100 for e in history if e.unit == "pct")
    pct = next(r for r in rules if r.unit == "pct")
    from bot.rules.selection import rule_values

    values = rule_values(metrics, pct).to_numpy()
    assert np.nanmin(values) >= -100
    # 2003-01 Netherlands: holdings rose, so no 12-month "decline" (it read -230.8% chained)
    assert not [e for e in history if e.entity == "Netherlands" and e.release == "2003-01"]


def test_parts_of_a_percentage_move_are_in_bn(real_panel, rules, metrics):
    from dataclasses import replace

    pct = [replace(r, floor=0.0, min_size=0.0) for r in rules if r.id == "holdings-12m-drop-pct"]
    (e,) = [
        e for e in backtest(real_panel, pct, "2022-10", "2022-10", metrics=metrics) if e.entity == "Poland"
    ]
    assert e.value == pytest.approx(-36.4, abs=0.05) and e.size == pytest.approx(-19.9)
    assert [p.value for p in e.parts] == pytest.approx([-8.308, -11.592])  # 2022-10 Poland read -28.1


def test_no_claim_across_missing_months_and_no_later_roster(history):
    assert [e.key for e in history if e.entity == "El Salvador"] == []
    late = {("Bahamas", f"2024-0{m}") for m in range(1, 5)} | {("France", "2008-05")}
    assert [e.key for e in history if (e.entity, e.release) in late] == []


def test_record_net_selling_needs_a_size_that_matters(history):
    assert all(abs(e.value) >= 25 for e in history if e.rule == "record-3m-net-selling")
    assert all(abs(e.value) >= 15 for e in history if e.rule == "official-net-selling")


def test_the_replay_is_within_the_noise_bar(history, metrics, real_panel):
    months = [str(p) for p in metrics.index if str(p) >= "2000-01" and p <= real_panel.latest()]
    per = Counter(e.release for e in history)
    counts = np.array([per.get(m, 0) for m in months])
    assert np.percentile(counts, 90) <= 5 and counts.max() <= 10
    assert len({e.release for e in history if e.severity == "major"}) <= 80
    stories = Counter((e.release, e.entity, e.basis, e.start, e.end, e.value, e.unit) for e in history)
    assert max(stories.values()) == 1  # the same move never twice in one message


def test_a_persisting_low_is_not_told_every_month(history):
    china = [e.release for e in history if e.rule == "multi-year-low" and e.entity == "China, Mainland"]
    assert sum(r >= "2025-04" for r in china) <= 2
