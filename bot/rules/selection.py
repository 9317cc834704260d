"""What a rule watches and reads: its entities at each month, its window values ($bn or %), the
watched columns' spans, and the sign of its direction. Shared by every kind's candidate function.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from bot.data.windows import DECIMALS, compute_windows
from bot.rules.catalogue import COUNTRIES, GROUPS, LARGEST, MAJOR, Rule
from bot.rules.metrics import Metrics

DOWN = ("decline", "low", "down")
Frames = dict[str, pd.DataFrame]  # value, metric, ok and a kind's extras, months × entities


def sign(direction: str) -> int:
    """−1 for the downward directions (decline, low, down), +1 otherwise."""
    return -1 if direction in DOWN else 1


def selection(metrics: Metrics, rule: Rule, like: pd.DataFrame) -> pd.DataFrame:
    """True where an entity is watched by the rule at a month (``@major`` depends on the month);
    computed once per panel for each list of entities and columns (do not modify)."""
    key = ("selection", rule.entities, tuple(like.columns), len(like.index))
    return metrics.memo(key, lambda: _select(metrics, rule, like))


def _select(metrics: Metrics, rule: Rule, like: pd.DataFrame) -> pd.DataFrame:
    sel = pd.DataFrame(False, index=like.index, columns=like.columns)
    names: set[str] = set()
    for e in rule.entities:
        if e == GROUPS:
            names |= {g.name for g in metrics.panel.groups}
        elif e == COUNTRIES:
            names |= set(metrics.countries)
        elif e not in (MAJOR, LARGEST):
            names.add(e)
    cols = [c for c in like.columns if c in names]
    sel.loc[:, cols] = True
    for selector, by_month in ((MAJOR, "major"), (LARGEST, "largest")):
        if selector in rule.entities:
            frame = getattr(metrics, by_month)
            sel |= frame.reindex(index=like.index, columns=like.columns, fill_value=False).astype(bool)
    return sel


def rule_values(metrics: Metrics, rule: Rule) -> pd.DataFrame:
    """The figure a change/record rule watches: the window in $bn, or in % of the starting level
    (a calendar-year rule: only the windows that end in December)."""
    w = metrics.window(rule.series, rule.window)
    if rule.calendar_year:  # calendar years only: the twelve months to each December
        key = ("december", rule.series, rule.window)
        return metrics.memo(key, lambda: w[w.index.month == 12].reindex(w.index))
    if rule.unit != "pct":
        return w

    def pct() -> pd.DataFrame:
        # chained like the $bn window (old series into a break month, new series after it), as a
        # product of ratios: never below -100%, and like with like across a break
        panel = metrics.panel
        values = panel.wide(rule.series)
        prior = panel.wide(f"{rule.series}_prior")
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(values.where(values.isna() | (values > 0), 0.0))  # log 0 = -inf: a -100% fall
            prior = np.log(prior.where(prior.isna() | (prior > 0), 0.0))
            src = panel.wide(rule.series, "source")
            sums = compute_windows(logs, prior, src, panel.breaks, rule.series, rule.window)
            out = (np.exp(sums) - 1) * 100
        out = out.where(np.isfinite(sums) | (sums == -np.inf))
        return out.reindex(columns=w.columns).round(DECIMALS)

    return metrics.memo(("pct", rule.series, rule.window), pct)


def rule_column(metrics: Metrics, rule: Rule, entity: str) -> np.ndarray:
    """One entity's :func:`rule_values` as an array over the panel's months (all NaN if none)."""
    if rule.unit != "pct" and not rule.calendar_year:
        return metrics.window_column(rule.series, rule.window, entity)
    frame = rule_values(metrics, rule)
    return frame[entity].to_numpy() if entity in frame.columns else np.full(len(metrics.index), np.nan)


def watched_spans(frame: pd.DataFrame, sel: pd.Series) -> Iterator[tuple[int, np.ndarray, int, int]]:
    """For each watched column with a figure: its index, its values, and the rows lo:hi from its
    first to its last figure (outside that span it is all NaN)."""
    values = frame.to_numpy(dtype="float64")
    for j in np.flatnonzero(sel.to_numpy()):
        v = values[:, j]
        valid = np.flatnonzero(~np.isnan(v))
        if len(valid):
            yield int(j), v, int(valid[0]), int(valid[-1]) + 1
