"""A release's events: candidates once per rule, then a subscriber's thresholds pick a prefix.

:class:`ReleaseCandidates` turns one month's candidates into :class:`~bot.rules.events.Event` values once;
a subscriber's thresholds then only pick a prefix of each rule's candidates (:meth:`ReleaseCandidates.fire`).
The backtest (:mod:`bot.rules.backtest`) reuses :func:`~bot.rules.candidates.candidates` and
:func:`~bot.rules.build.build_event` for every month at once.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from bot.data.entities import (
    GRAND_TOTAL,
    HOLDINGS,
)
from bot.data.panel import Panel
from bot.rules.build import build_event
from bot.rules.candidates import candidates, fires_arrays
from bot.rules.catalogue import Rule, instances
from bot.rules.events import Event
from bot.rules.kinds import strength
from bot.rules.metrics import Metrics
from bot.rules.overrides import Overrides, check_overrides, floor_for, threshold_for
from bot.rules.story import one_story


@dataclass(frozen=True)
class RuleCandidates:
    """One rule's candidate events at a release, strongest first."""

    rule: Rule
    events: tuple[Event, ...]


class ReleaseCandidates:
    """Every rule's candidates at one month, built once; :meth:`fire` applies a subscriber's thresholds."""

    def __init__(
        self,
        panel: Panel,
        rules: Iterable[Rule],
        month: pd.Period | str | None = None,
        metrics: Metrics | None = None,
    ):
        self.metrics = metrics or Metrics(panel)
        self.month = pd.Period(month, "M") if month is not None else newest_month(panel)
        self.rules = tuple(rules)
        self.instances = instances(self.rules)  # one per asset a rule reads
        self.by_rule: dict[str, RuleCandidates] = {}
        self._chosen: dict[tuple[str, float, int, float], tuple[Event, ...]] = {}
        self._keys: dict[str, list[float]] = {}
        self._told: dict[tuple[int, ...], tuple[Event, ...]] = {}  # fired events' ids → their stories
        self._groups = {g.name for g in panel.groups}
        self._frames: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # rule key → metric, move
        for rule in self.instances:
            rows = _strongest_first(rule, candidates(self.metrics, rule, [self.month]))
            events = tuple(
                build_event(self.metrics, rule, row, rule.threshold, str(self.month)) for row in rows
            )
            self.by_rule[rule.key] = RuleCandidates(rule, events)
            metric = np.array([row["metric"] for row in rows], dtype="float64")
            self._frames[rule.key] = (metric, np.array([row["move"] for row in rows], dtype="float64"))
            self._keys[rule.key] = [-strength(rule.spec, float(m)) for m in metric]  # ascending

    def fire(self, overrides: Overrides | None = None, checked: bool = False) -> list[Event]:
        """The events under a subscriber's settings (rule id → :class:`Override`)."""
        overrides = overrides or {}
        if overrides and not checked:
            overrides = check_overrides(self.rules, overrides)
        fired: list[Event] = []
        for rule in self.instances:
            threshold = threshold_for(rule, overrides)
            if threshold is None:
                continue
            # candidates are strongest first, so the ones that meet the threshold are a prefix:
            # those whose -strength is at most the threshold's (meets_threshold, by bisection)
            count = bisect_right(self._keys[rule.key], -strength(rule.spec, threshold))
            if count:
                fired.extend(self._pick(rule, float(threshold), count, floor_for(rule, overrides)))
        suspect = self.metrics.panel.suspect_entities()  # files of one release disagree: no alert
        fired = [e for e in fired if e.entity not in suspect]
        # subscribers whose settings fire the same events are told the same stories: the events
        # are this object's own (memoised in _pick), so their ids say which they are
        told = tuple(map(id, fired))
        if told not in self._told:
            self._told[told] = tuple(one_story(fired, self.metrics.panel, self.rules))
        return list(self._told[told])

    def _pick(self, rule: Rule, threshold: float, count: int, floor: float) -> tuple[Event, ...]:
        """Of the first ``count`` candidates, those the floor and persistence keep (:func:`fires`),
        carrying the subscriber's threshold (memoised)."""
        key = (rule.key, threshold, count, floor)
        if key not in self._chosen:
            metric, move = self._frames[rule.key]
            keep = fires_arrays(rule, metric[:count], move[:count], threshold, floor)
            chosen = tuple(e for e, k in zip(self.by_rule[rule.key].events[:count], keep, strict=True) if k)
            if threshold != rule.threshold:
                chosen = tuple(replace(e, threshold=threshold) for e in chosen)
            self._chosen[key] = chosen
        return self._chosen[key]


def _strongest_first(rule: Rule, frame: pd.DataFrame) -> list[dict[str, object]]:
    """A month's candidate rows as records, strongest metric first, ties by entity (a month has a
    few dozen rows: plain Python sorts them in a tenth of ``sort_values`` + ``to_dict``)."""
    columns = {c: frame[c].tolist() for c in frame.columns}
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    sign_ = 1.0 if rule.spec.stricter == "lower" else -1.0
    return sorted(rows, key=lambda row: (sign_ * float(row["metric"]), str(row["entity"])))


def newest_month(panel: Panel) -> pd.Period:
    """The release's data month: the newest Grand Total holdings month (else the newest month)."""
    if panel.has(GRAND_TOTAL, HOLDINGS):
        return panel.latest(GRAND_TOTAL, HOLDINGS)
    return panel.data["period"].max()


def evaluate(
    panel: Panel,
    rules: Iterable[Rule],
    overrides: Overrides | None = None,
    month: pd.Period | str | None = None,
) -> list[Event]:
    """The events that fire at ``month`` (default: the newest month) under these thresholds."""
    return ReleaseCandidates(panel, rules, month).fire(overrides)
