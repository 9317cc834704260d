"""Replay history: every event the rules would have fired, month by month, with no look-ahead.

The month-t evaluation sees only months ≤ t: windows, ranks ("largest since …"), rosters and
records are computed as of t, vectorised over all months at once. It is equivalent to running
:func:`bot.rules.release.evaluate` on the panel cut at t (tests check this), but runs in one pass.

Caveat stated in the output: history is today's vintage (revised figures, e.g. the 2022
Japan + China window reads −227.6 now, −216 as first printed); what was printed on the day is
not reconstructed.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from bot.data.panel import Panel
from bot.rules.build import build_event
from bot.rules.candidates import candidates, fires
from bot.rules.catalogue import Rule, instances
from bot.rules.events import Event
from bot.rules.metrics import Metrics
from bot.rules.overrides import Overrides, check_overrides, floor_for, threshold_for
from bot.rules.release import newest_month
from bot.rules.story import one_story

DEFAULT_START = pd.Period("2000-01", "M")


def backtest(
    panel: Panel,
    rules: Iterable[Rule],
    start: pd.Period | str | None = None,
    end: pd.Period | str | None = None,
    overrides: Overrides | None = None,
    metrics: Metrics | None = None,
) -> list[Event]:
    """Every event of ``rules`` for data months start..end (default 2000-01 → newest month)."""
    rules = tuple(rules)
    overrides = check_overrides(rules, overrides or {})
    metrics = metrics or Metrics(panel)
    first = pd.Period(start, "M") if start is not None else DEFAULT_START
    last = pd.Period(end, "M") if end is not None else newest_month(panel)
    months = metrics.index[(metrics.index >= first) & (metrics.index <= last)]
    events: list[Event] = []
    for rule in instances(rules):
        threshold = threshold_for(rule, overrides)
        if threshold is None:
            continue
        frame = candidates(metrics, rule, months)
        if frame.empty:
            continue
        keep = fires(rule, frame, threshold, floor_for(rule, overrides))
        for row in frame[keep].to_dict("records"):
            events.append(build_event(metrics, rule, row, threshold, str(row["period"])))
    suspect = panel.suspect_entities()  # files of one release disagree (see Panel.suspect)
    return one_story([e for e in events if e.entity not in suspect], panel, rules)
