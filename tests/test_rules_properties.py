"""Properties of evaluation on arbitrary small panels (hypothesis)."""

from __future__ import annotations

import math

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rule_panels import JC, TEST_RULES, cut, months, parsed

from bot.data.panel import build_panel
from bot.data.parse import Break
from bot.rules.backtest import backtest
from bot.rules.catalogue import load_rules
from bot.rules.kinds import meets_threshold
from bot.rules.overrides import Override
from bot.rules.release import ReleaseCandidates, evaluate

RULES = load_rules((JC,), TEST_RULES)
COUNTRIES = ["Japan", "China, Mainland", "United Kingdom", "Belgium"]
ROSTER = ["Brazil", "Canada", "France", "Ireland", "Luxembourg", "Norway", "Peru", "Taiwan"]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def panels(draw):
    """Small panels; some with a full roster (where a back-filled newcomer is not major) and some
    in mfhhis01 with a series break (with or without the old series' comparison column)."""
    n = draw(st.integers(1, 18))
    level = st.one_of(st.none(), st.floats(0.5, 2000, allow_nan=False).map(lambda v: round(v, 1)))
    flow = st.one_of(st.none(), st.floats(-80, 80, allow_nan=False).map(lambda v: round(v, 3)))
    names = list(draw(st.sets(st.sampled_from(COUNTRIES))))
    if draw(st.booleans()):
        names += ROSTER
    holdings = {c: draw(st.lists(level, min_size=n, max_size=n)) for c in names}
    holdings["Grand Total"] = [1000.0 + i for i in range(n)]
    holdings["Foreign Official"] = draw(st.lists(level, min_size=n, max_size=n))
    flows = {}
    for entity in draw(st.sets(st.sampled_from([*COUNTRIES, "Foreign Official"]))):
        for series in ("lt_net", "net", "lt_valuation"):
            flows[(entity, series)] = draw(st.lists(flow, min_size=n, max_size=n))
    cells = {(e, "holdings"): v for e, v in holdings.items()}
    name, breaks = "slt_table5.txt", []
    if n > 2 and draw(st.booleans()):
        name, at = "mfhhis01.txt", draw(st.integers(1, n - 1))
        comparable = draw(st.booleans())
        breaks = [Break(pd.Period(months(n)[at], "M"), "new series", comparable)]
        if comparable:
            for e in names:
                cells[(e, "holdings_prior")] = [draw(level) if i == at else None for i in range(n)]
    files = [parsed(name, cells, breaks=breaks)]
    if flows:
        files.append(parsed("slt_table3.txt", flows))
    return build_panel(files, (JC,))


@SETTINGS
@given(panels())
def test_evaluation_never_raises_and_events_are_sound(p):
    events = evaluate(p, RULES)
    assert len({e.key for e in events}) == len(events)
    for e in events:
        assert math.isfinite(e.value)
        assert math.isfinite(e.metric)
        assert meets_threshold(RULES[[r.id for r in RULES].index(e.rule)].spec, e.metric, e.threshold)


def _told(events):
    """(rule, entity) of every story told, including members folded into their group's event."""
    return {(e.rule, e.entity) for e in events} | {(e.rule, m) for e in events for m in e.suppressed}


@SETTINGS
@given(panels(), st.data())
def test_a_stricter_threshold_never_adds_events(p, data):
    release = ReleaseCandidates(p, RULES)
    for r in RULES:
        kind = r.spec
        hi = min(kind.maximum, 200.0)
        a = data.draw(st.floats(kind.minimum, hi))
        b = data.draw(st.floats(kind.minimum, hi))
        if kind.integer:
            a, b = float(round(a)), float(round(b))
        loose, strict = (min(a, b), max(a, b)) if kind.stricter == "higher" else (max(a, b), min(a, b))
        looser = release.fire({r.id: Override(loose)})
        stricter = release.fire({r.id: Override(strict)})
        assert _told(e for e in stricter if e.rule == r.id) <= _told(e for e in looser if e.rule == r.id)


@SETTINGS
@given(panels(), st.data())
def test_backtest_never_looks_ahead(p, data):
    months = sorted(p.data["period"].unique())
    t = data.draw(st.sampled_from(months))
    full = backtest(p, RULES, start=months[0])
    upto = [e for e in full if pd.Period(e.release, "M") <= t]
    assert backtest(cut(p, t), RULES, start=months[0]) == upto
    at_t = [e for e in full if e.release == str(t)]
    assert evaluate(cut(p, t), RULES, month=t) == at_t
