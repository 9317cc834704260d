"""What would this rule have caught? A rule's record in history at any threshold, fast.

The candidates of a rule over every month (at its loosest threshold) are computed once per
panel; a threshold is then a filter on their metric, so a subscriber trying values with
``/set`` or ``/backtest`` costs a comparison, and events are built only for the few releases
shown. Same months, same no-look-ahead rule and same threshold comparison as the backtest.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from bot.data.panel import Panel
from bot.rules.backtest import DEFAULT_START
from bot.rules.build import build_event
from bot.rules.candidates import candidates, fires
from bot.rules.catalogue import Rule
from bot.rules.events import Event
from bot.rules.metrics import Metrics
from bot.rules.overrides import Override, check_overrides, floor_for
from bot.rules.release import newest_month
from bot.rules.story import inhibit, order


@dataclass(frozen=True)
class RuleHistory:
    """How often a rule fires at one threshold since ``since``, and its latest events."""

    rule: Rule
    threshold: float
    since: str  # YYYY-MM, the first data month replayed
    until: str  # YYYY-MM, the newest data month
    releases: int  # data months on which it fires at least once
    latest: tuple[Event, ...]  # the events of the newest few releases it fired on, newest first


class History:
    """Candidates per rule over all months of one panel, computed once, filtered per threshold."""

    def __init__(self, panel: Panel, metrics: Metrics | None = None, start: pd.Period = DEFAULT_START):
        self.panel = panel
        self.metrics = metrics or Metrics(panel)
        last = newest_month(panel)
        index = self.metrics.index
        self.months = index[(index >= start) & (index <= last)]
        self._frames: dict[str, pd.DataFrame] = {}

    def _candidates(self, rule: Rule) -> pd.DataFrame:
        """An instance's candidates (:meth:`Rule.instances`: one per asset it reads)."""
        if rule.key not in self._frames:
            self._frames[rule.key] = candidates(self.metrics, rule, self.months)
        return self._frames[rule.key]

    def at(
        self, rule: Rule, threshold: float | None = None, last: int = 3, floor: float | None = None
    ) -> RuleHistory:
        """The rule's history at ``threshold`` (default: its own) and $bn ``floor`` (default: its
        own), with the newest ``last`` releases."""
        value = rule.threshold
        if threshold is not None:
            value = (
                check_overrides([rule], {rule.id: Override(threshold=threshold)})[rule.id].threshold or 0.0
            )
        low = floor_for(rule, {rule.id: Override(floor=floor)})
        hits = []  # (instance, its candidates that fire)
        for one in rule.instances():
            frame = self._candidates(one)
            hits.append((one, frame if frame.empty else frame[fires(one, frame, value, low)]))
        periods = sorted({p for _, h in hits for p in h["period"]}, reverse=True)
        shown = set(periods[:last])
        events = [
            build_event(self.metrics, one, row, value, str(row["period"]))
            for one, h in hits
            for row in h[h["period"].isin(shown)].to_dict("records")
        ]
        latest = order(inhibit(events, self.panel), [rule])
        latest.sort(key=lambda e: e.release, reverse=True)
        return RuleHistory(
            rule,
            float(value),
            str(self.months[0]) if len(self.months) else "",
            str(self.months[-1]) if len(self.months) else "",
            len(periods),
            tuple(latest),
        )
