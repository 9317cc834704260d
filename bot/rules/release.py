"""A release's events: candidates once per rule, then a subscriber's thresholds pick a prefix.

:class:`ReleaseCandidates` turns one month's candidates into :class:`~bot.rules.events.Event` values once;
a subscriber's thresholds then only pick a prefix of each rule's candidates (:meth:`ReleaseCandidates.fire`).
The backtest (:mod:`bot.rules.backtest`) reuses :func:`~bot.rules.candidates.candidates` and
:func:`~bot.rules.build.build_event` for every month at once.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import pandas as pd

from bot.data.entities import GRAND_TOTAL, HOLDINGS
from bot.data.panel import Panel
from bot.rules.build import build_event
from bot.rules.candidates import candidates
from bot.rules.catalogue import Rule, check_overrides, threshold_for
from bot.rules.events import Event
from bot.rules.kinds import SEVERITY_ORDER, strength
from bot.rules.metrics import Metrics


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
        self.by_rule: dict[str, RuleCandidates] = {}
        self._chosen: dict[tuple[str, float, int], tuple[Event, ...]] = {}
        self._keys: dict[str, list[float]] = {}
        self._groups = {g.name for g in panel.groups}
        for rule in self.rules:
            frame = candidates(self.metrics, rule, [self.month])
            asc = rule.spec.stricter == "lower"
            frame = frame.sort_values(["metric", "entity"], ascending=[asc, True], kind="stable")
            events = tuple(
                build_event(self.metrics, rule, row, rule.threshold, str(self.month))
                for row in frame.to_dict("records")
            )
            self.by_rule[rule.id] = RuleCandidates(rule, events)
            self._keys[rule.id] = [-strength(rule.spec, float(m)) for m in frame["metric"]]  # ascending

    def fire(self, overrides: Mapping[str, float | None] | None = None, checked: bool = False) -> list[Event]:
        """The events under a subscriber's thresholds (rule id → threshold, None = off)."""
        overrides = overrides or {}
        if overrides and not checked:
            overrides = check_overrides(self.rules, overrides)
        fired: list[Event] = []
        for rule in self.rules:
            threshold = threshold_for(rule, overrides)
            if threshold is None:
                continue
            # candidates are strongest first, so the ones that meet the threshold are a prefix:
            # those whose -strength is at most the threshold's (meets_threshold, by bisection)
            count = bisect_right(self._keys[rule.id], -strength(rule.spec, threshold))
            if count:
                fired.extend(self._pick(rule, float(threshold), count))
        if any(e.entity in self._groups for e in fired):
            fired = inhibit(fired, self.metrics.panel)
        suspect = self.metrics.panel.suspect_entities()  # files of one release disagree: no alert
        fired = [e for e in fired if e.entity not in suspect]
        return order(fired, self.rules)

    def _pick(self, rule: Rule, threshold: float, count: int) -> tuple[Event, ...]:
        """The first ``count`` candidates, carrying the subscriber's threshold (memoised)."""
        key = (rule.id, threshold, count)
        if key not in self._chosen:
            chosen = self.by_rule[rule.id].events[:count]
            if threshold != rule.threshold:
                chosen = tuple(replace(e, threshold=threshold) for e in chosen)
            self._chosen[key] = chosen
        return self._chosen[key]


def newest_month(panel: Panel) -> pd.Period:
    """The release's data month: the newest Grand Total holdings month (else the newest month)."""
    if panel.has(GRAND_TOTAL, HOLDINGS):
        return panel.latest(GRAND_TOTAL, HOLDINGS)
    return panel.data["period"].max()


def inhibit(events: Iterable[Event], panel: Panel) -> list[Event]:
    """Drop member events that a same-rule, same-release group event already tells (one story)."""
    events = list(events)
    groups = {g.name: g.members for g in panel.groups}
    covered: dict[tuple[str, str, str], list[int]] = {}
    for i, e in enumerate(events):
        for m in groups.get(e.entity, ()):
            covered.setdefault((e.release, e.rule, m), []).append(i)
    out: list[Event] = []
    folded: dict[int, list[str]] = {}
    for e in events:
        by = covered.get((e.release, e.rule, e.entity))
        if by and e.entity not in groups:
            for i in by:
                folded.setdefault(i, []).append(e.entity)
            continue
        out.append(e)
    if folded:
        index = {id(events[i]): names for i, names in folded.items()}
        out = [replace(e, suppressed=tuple(index[id(e)])) if id(e) in index else e for e in out]
    return out


def order(events: Iterable[Event], rules: Sequence[Rule] = ()) -> list[Event]:
    """By release; most severe first; then catalogue order, month and entity (deterministic)."""
    place = {r.id: i for i, r in enumerate(rules)}
    return sorted(
        events,
        key=lambda e: (
            e.release,
            -SEVERITY_ORDER[e.severity],
            place.get(e.rule, len(place)),
            e.rule,
            e.end,
            e.entity,
        ),
    )


def evaluate(
    panel: Panel,
    rules: Iterable[Rule],
    overrides: Mapping[str, float | None] | None = None,
    month: pd.Period | str | None = None,
) -> list[Event]:
    """The events that fire at ``month`` (default: the newest month) under these thresholds."""
    return ReleaseCandidates(panel, rules, month).fire(overrides)
