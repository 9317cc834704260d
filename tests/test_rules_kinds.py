"""Each rule kind on small hand-built panels, with the exact events expected."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from rule_panels import panel, parsed, rule

from bot.data.panel import build_panel
from bot.data.parse import Break
from bot.render.wording import note_text, part_label, rank_what
from bot.rules.backtest import backtest
from bot.rules.events import NET_TOTAL, REST_AFTER_TOTAL, VALUATION_LT, Part, Rank
from bot.rules.overrides import Override
from bot.rules.release import ReleaseCandidates, evaluate

CHANGE = """id = "drop"
description = "3-month decline"
kind = "change"
entities = ["@groups", "@major"]
basis = "holdings"
window = 3
direction = "decline"
threshold = 10
severity = "notable"
"""


def jc_panel():
    # Japan falls 30 over Nov-Jan, then 10, 15 and 25 over the windows to Apr, May and Jun (each
    # further than the overlapping windows before it); China is flat: the group falls 25 too.
    return panel(
        {
            "Japan": [130, 100, 100, 100, 100, 100, 90, 85, 75],
            "China, Mainland": [50] * 9,
            "Grand Total": [430, 400, 400, 400, 400, 400, 390, 385, 375],
        },
        {
            ("Japan", "net"): [0, 0, 0, 0, 0, 0, -8, -4, 2],
            ("China, Mainland", "net"): [0, 0, 0, 0, 0, 0, 1, 1, 1],
            ("Japan", "lt_valuation"): [0, 0, 0, 0, 0, 0, -9, -3, 1],
            ("China, Mainland", "lt_valuation"): [0, 0, 0, 0, 0, 0, -1, -1, -1],
        },
        start="2019-10",
    )


def test_change_fires_once_for_the_group_with_parts_and_rank():
    p = jc_panel()
    (e,) = evaluate(p, [rule(CHANGE)])
    assert (e.key, e.entity, e.value, e.metric, e.threshold) == (
        "2020-06|drop|Japan + China|2020-04..2020-06",
        "Japan + China",
        -25.0,
        25.0,
        10.0,
    )
    assert e.suppressed == ("Japan",)  # inhibition: Japan's own -25 is the same story
    assert e.rank == Rank(2, 4, "2020-01", "2020-06", (-30.0, "2020-01"))
    assert rank_what(e) == "3-month decline"
    net, valuation, other = e.parts
    assert net == Part(NET_TOTAL, -7.0, "SLT Table 3", (("Japan", -10.0), ("China, Mainland", 3.0)))
    assert valuation == Part(VALUATION_LT, -14.0, "SLT Table 3")
    assert other == Part(REST_AFTER_TOTAL, -4.0, "derived")
    assert [part_label(x) for x in (net, valuation, other)] == [
        "net transactions",
        "valuation change of bonds & notes",
        "other (bills, revisions, rounding)",
    ]
    assert e.level == 125.0


def test_change_threshold_and_percent():
    p = jc_panel()
    assert evaluate(p, [rule(CHANGE)], {"drop": Override(30)}) == []
    pct = rule(CHANGE.replace("threshold = 10", 'threshold = 20\nunit = "pct"'))
    (e,) = evaluate(p, [pct])
    assert e.entity == "Japan" and e.value == -25.0 and e.unit == "pct"  # 75 vs 100: -25%
    assert evaluate(p, [pct], {"drop": Override(26)}) == []


def test_member_fires_alone_when_the_group_does_not():
    p = panel({"Japan": [100, 100, 100, 80], "China, Mainland": [50, 50, 50, 70]})
    (e,) = evaluate(p, [rule(CHANGE)])
    assert e.entity == "Japan"
    assert e.value == -20.0
    assert e.suppressed == ()


RECORD = """id = "record"
description = "record 2-month decline"
kind = "record"
entities = ["Japan"]
basis = "holdings"
window = 2
direction = "decline"
threshold = 1
min_history = 3
severity = "major"
"""


def test_record_fires_only_when_largest_so_far_and_enough_history():
    # 2-month changes: -3 (Mar), -5 (Apr), -4 (May), -10 (Jun), +7 (Jul), -14 (Aug)
    p = panel({"Japan": [100, 95, 97, 90, 93, 80, 100, 66]})
    events = backtest(p, [rule(RECORD)], "2020-01", "2020-08")
    assert [(e.end, e.value, e.rank.rank, e.rank.of, e.rank.previous) for e in events] == [
        ("2020-06", -10.0, 1, 4, (-5.0, "2020-04")),
        ("2020-08", -14.0, 1, 5, (-10.0, "2020-06")),
    ]
    # top 2: May (-4, 2nd of 3) also fires; Apr had too little history (2 windows < 3)
    events = backtest(p, [rule(RECORD)], overrides={"record": Override(2)}, start="2020-01")
    assert [(e.end, e.rank.rank) for e in events] == [("2020-05", 2), ("2020-06", 1), ("2020-08", 1)]
    assert all(e.threshold == 2.0 for e in events)


def test_record_on_net_transactions_is_ranked_across_the_break_and_says_so():
    form_s = parsed("s1_globl.txt", {("Japan", "lt_net"): [-1, -2, -3, -1, -2]}, "2022-10")
    table3 = parsed("slt_table3.txt", {("Japan", "lt_net"): [-9, -9]}, "2023-02")
    p = build_panel([form_s, table3], ())
    net = rule(
        RECORD.replace('basis = "holdings"', 'basis = "net"').replace("min_history = 3", "min_history = 1")
    )
    events = backtest(p, [net], "2022-01")
    # windows: Nov -3, Dec -5, Jan -4, Feb n.a. (spans the switch), Mar -18 (Table 3)
    assert [(e.end, e.value) for e in events] == [("2022-11", -3.0), ("2022-12", -5.0), ("2023-03", -18.0)]
    assert tuple(note_text(n) for n in events[-1].notes) == (
        "ranked across a series break: Form S → SLT Table 3 net transactions (Feb 2023)",
    )
    assert events[-1].rank.since == "2022-11"


def test_official_net_selling_shows_valuation_and_holdings_change():
    p = panel(
        {"Grand Total": [1000, 1000, 1000, 1000]},
        {
            ("Foreign Official", "lt_net"): [5, -3, 2, -7],
            ("Foreign Official", "lt_valuation"): [1, -2, 3, -4],
            ("Foreign Official", "lt_holdings"): [100, 97, 99, 88],
        },
    )
    fo = rule(
        'id = "fo"\ndescription = "official"\nkind = "official_selling"\nbasis = "net"\n'
        'threshold = 0\nseverity = "notable"\n'
    )
    (e,) = evaluate(p, [fo])
    assert (e.entity, e.value, e.metric, e.start, e.end) == (
        "Foreign Official",
        -7.0,
        7.0,
        "2020-04",
        "2020-04",
    )
    assert e.rank == Rank(1, 2, "2020-01", "2020-04", (-3.0, "2020-02"))
    assert rank_what(e) == "monthly net selling"
    assert [(part_label(x), x.value) for x in e.parts] == [
        ("valuation change of bonds & notes", -4.0),
        ("change in bonds & notes holdings", -11.0),
        ("other", 0.0),  # what net (-7) and valuation (-4) leave of the holdings change (-11)
    ]
    assert evaluate(p, [fo], {"fo": Override(7.5)}) == []
    assert [e.end for e in backtest(p, [fo], "2020-01")] == ["2020-02", "2020-04"]


def test_streak_counts_consecutive_months():
    p = panel({"Grand Total": [1] * 6}, {("Foreign Official", "lt_net"): [5, -3, -2, -7, 4, -1]})
    streak = rule(
        'id = "s"\ndescription = "streak"\nkind = "streak"\nentity = "Foreign Official"\n'
        'basis = "net"\ndirection = "decline"\nthreshold = 2\nseverity = "notable"\n'
    )
    events = backtest(p, [streak], "2020-01")
    assert [(e.end, e.streak, e.start, e.value) for e in events] == [
        ("2020-03", 2, "2020-02", -5.0),
        ("2020-04", 3, "2020-02", -12.0),
    ]
    assert events[1].rank == Rank(1, 1, "2020-01", "2020-04", None)
    assert rank_what(events[1]) == "net selling streak"
    assert backtest(p, [streak], "2020-01", overrides={"s": Override(4)}) == []


def test_multi_year_low_says_since_when():
    # a $1tn holder: its horizon is 2 years (a smaller one needs longer, bot.rules.rarity.horizon)
    levels = [900] + [1000 + 10 * i for i in range(30)] + [950, 890]
    p = panel({"China, Mainland": levels, "Japan": [5000] * 33})
    low = rule(
        'id = "low"\ndescription = "low"\nkind = "multi_year"\nentities = ["@major"]\n'
        'basis = "holdings"\ndirection = "low"\nthreshold = 1.5\nseverity = "notable"\n'
    )
    events = backtest(p, [low], "2020-01")
    # Aug 2022: 950, lowest since Jan 2020 (31 months); Sep 2022: 890, lowest in all 33 months
    assert [(e.end, e.value, e.metric, e.extreme_since) for e in events] == [
        ("2022-08", 950.0, round(31 / 12, 6), "2020-01"),
        ("2022-09", 890.0, round(32 / 12, 6), None),
    ]
    assert [e.end for e in backtest(p, [low], "2020-01", overrides={"low": Override(2.6)})] == ["2022-09"]


def test_rank_change_names_who_was_passed():
    p = panel(
        {
            "Japan": [300, 300],
            "United Kingdom": [200, 150],
            "China, Mainland": [100, 180],
            "Germany": [50, 50],
        },
        groups=(),
    )
    climb = rule(
        'id = "climb"\ndescription = "rank"\nkind = "rank_change"\nentities = ["@countries"]\n'
        'basis = "holdings"\ndirection = "either"\nthreshold = 1\ntop_n = 3\nseverity = "notable"\n'
    )
    events = evaluate(p, [climb])
    assert [(e.entity, e.rank_from, e.rank_to, e.passed) for e in events] == [
        ("China, Mainland", 3, 2, ("United Kingdom",)),
        ("United Kingdom", 2, 3, ("China, Mainland",)),
    ]
    up = rule(
        'id = "climb"\ndescription = "rank"\nkind = "rank_change"\nentities = ["@countries"]\n'
        'basis = "holdings"\ndirection = "up"\nthreshold = 1\ntop_n = 3\nseverity = "notable"\n'
    )
    assert [e.entity for e in evaluate(p, [up])] == ["China, Mainland"]
    assert evaluate(p, [up], {"climb": Override(2)}) == []


def test_holdings_windows_never_cross_a_break_without_comparison():
    rows = {("Japan", "holdings"): [1.0, 2.0, 50.0, 51.0]}
    brk = Break(pd.Period("2011-12", "M"), "Series XIII", comparable=False)
    p = build_panel([parsed("mfhhis01.txt", rows, "2011-10", [brk])], ())
    s = p.series("Japan")
    values = {t: float(v) for t, v in zip(s.index, s.to_numpy())}
    for k in (1, 2, 3):
        w = p.window("Japan", "holdings", k)
        assert list(w.index) == list(values)
        for t in w.index:  # by hand: a change over k months, NaN across the break or before the data
            if t - k < brk.period <= t or t - k not in values:
                assert math.isnan(w[t]), (k, t)
            else:
                assert w[t] == values[t] - values[t - k], (k, t)
    drop = rule(
        CHANGE.replace("window = 3", "window = 1")
        .replace("threshold = 10", "threshold = 0")
        .replace('direction = "decline"', 'direction = "increase"'),
        (),
    )
    assert [e.end for e in backtest(p, [drop], "2011-01")] == ["2011-11", "2012-01"]  # not 2011-12


def test_subscribers_pick_from_one_release():
    p = jc_panel()
    release = ReleaseCandidates(p, [rule(CHANGE)])
    assert [e.threshold for e in release.fire({"drop": Override(5)})] == [5.0]
    assert release.fire({"drop": Override(off=True)}) == []
    assert release.fire() == evaluate(p, [rule(CHANGE)])


@pytest.mark.parametrize("month", ["2020-04", "2020-05"])
def test_evaluate_at_an_earlier_month(month):
    (e,) = evaluate(jc_panel(), [rule(CHANGE)], month=month)
    assert e.release == month
    assert e.end == month


def test_every_kind_has_its_candidates_and_its_english():
    from bot.render.stories import HEADLINES
    from bot.rules.candidates import CANDIDATES
    from bot.rules.kinds import KINDS, KindName

    assert set(KINDS) == set(KindName) == set(CANDIDATES) == set(HEADLINES)
    assert all(KINDS[k].name == k for k in KindName)
