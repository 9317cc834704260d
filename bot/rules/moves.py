"""Candidates of the kinds that claim a move: a change, a record, a largest-since, a run.

Each function returns :data:`~bot.rules.selection.Frames` over months × entities: the figure
the message quotes (value), what the threshold is compared with (metric), where the kind has a
candidate at its loosest threshold (ok), and the kind's extras. Months ≤ t only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.data.entities import HOLDINGS
from bot.data.ranking import magnitudes, rank_in_history
from bot.data.windows import DECIMALS
from bot.rules.catalogue import Rule
from bot.rules.kinds import MAX_TOP_K
from bot.rules.metrics import Metrics, run_lengths
from bot.rules.rarity import as_far_back, horizon, rank_years, same_episode
from bot.rules.selection import Frames, rule_values, selection, sign, watched_spans


def change(metrics: Metrics, rule: Rule, wanted: np.ndarray) -> Frames:
    """A move past a threshold, told when its window is further than the overlapping windows
    before it (the last ``window − 1``): those share its months, so a smaller one tells nothing
    new and a persisting fall (12 months down 25%) is told when it starts and when it deepens,
    not every month. The same rows for every threshold: a stricter one only removes events."""
    value = rule_values(metrics, rule)
    metric = sign(rule.direction) * value
    ok = metric > 0
    if rule.window > 1:
        before = metric.shift(1).rolling(rule.window - 1, min_periods=1).max()
        ok &= before.isna() | (metric > before)
    return {"value": value, "metric": metric, "ok": ok}


def record(metrics: Metrics, rule: Rule, wanted: np.ndarray) -> Frames:
    """Where the window ranks among the entity's same-direction windows so far (the wanted rows)."""
    value = rule_values(metrics, rule)
    sel = selection(metrics, rule, value).any(axis=0)
    s = sign(rule.direction)
    ranks = np.zeros(value.shape, dtype=int)
    for j, v, lo, hi in watched_spans(value, sel):
        rows = np.flatnonzero(wanted[lo:hi])
        rank = rank_in_history(magnitudes(v[lo:hi], s), rows)[0]
        with np.errstate(invalid="ignore"):
            ranks[lo + rows, j] = np.where(s * v[lo:hi][rows] > 0, rank, 0)  # it moved (not zero)
    rank = pd.DataFrame(ranks, index=value.index, columns=value.columns)
    history = value.notna().cumsum()
    ok = (rank >= 1) & (rank <= MAX_TOP_K) & (history >= rule.min_history)
    return {"value": value, "metric": rank.astype("float64"), "ok": ok}


def streak(metrics: Metrics, rule: Rule, wanted: np.ndarray) -> Frames:
    step = metrics.window(rule.series, 1)
    moving = (sign(rule.direction) * step > 0).to_numpy(dtype=bool)
    run = run_lengths(moving)
    total = np.cumsum(np.nan_to_num(step.to_numpy()), axis=0)
    n = len(step)
    start = np.arange(n)[:, None] - run  # row before the run starts (−1: the run starts at row 0)
    before = np.where(start >= 0, total[np.clip(start, 0, None), np.arange(step.shape[1])], 0.0)
    value = np.round(total - before, DECIMALS)
    frame = pd.DataFrame(run.astype("float64"), index=step.index, columns=step.columns)
    return {
        "value": pd.DataFrame(value, index=step.index, columns=step.columns),
        "metric": frame,
        "run": frame,
        "ok": frame >= 2,
    }


def largest_since(metrics: Metrics, rule: Rule, wanted: np.ndarray) -> Frames:
    """Years since a move as large the rule's way (same basis and window) in the entity's history
    of windows; none as large: a record, its years the whole history; the 2nd or 3rd largest in
    history: at least its history over its place (:func:`~bot.rules.rarity.rank_years`). News
    from the holder's :func:`~bot.rules.rarity.horizon` on (2 years for $1tn holders and
    aggregates, longer for smaller ones)."""
    value = rule_values(metrics, rule)
    sel = selection(metrics, rule, value).any(axis=0)
    s = sign(rule.direction)
    years = np.full(value.shape, np.nan)
    since = np.full(value.shape, None, dtype=object)
    labels = np.array(metrics.labels, dtype=object)
    for j, v, lo, hi in watched_spans(value, sel):
        y = s * v[lo:hi]
        at = np.flatnonzero(wanted[lo:hi])
        months, last = as_far_back(y, runs=False, at=at)
        place = np.zeros(hi - lo, dtype=int)
        place[at] = rank_in_history(magnitudes(v[lo:hi], s), at)[0]
        rows = np.arange(hi - lo)
        ranked = rank_years(place, rows + 1, recent=(last >= 0) & same_episode(rows - last, rule.window))
        with np.errstate(invalid="ignore"):
            moved = y > 0
        years[lo:hi, j] = np.where(moved, np.maximum(months / 12.0, ranked), np.nan)
        since[lo:hi, j] = np.where(moved & (last >= 0), labels[lo:hi][np.clip(last, 0, None)], None)
    metric = pd.DataFrame(years, index=value.index, columns=value.columns).round(DECIMALS)
    least = horizon(metrics.values(HOLDINGS).reindex(index=value.index, columns=value.columns))
    return {
        "value": value,
        "metric": metric,
        "since": pd.DataFrame(since, index=value.index, columns=value.columns),
        "ok": metric >= least,
    }


def first_since(metrics: Metrics, rule: Rule, wanted: np.ndarray) -> Frames:
    """A month that moves the rule's way after months that did not: the months since the last
    month that moved this way (the run the other way, plus one) and that month ("net sellers for
    the first time since Oct 2016"). Over the entity's unbroken months only (a gap ends the
    history), and not when nothing before moved this way (no "since" to say)."""
    value = rule_values(metrics, rule)
    s = sign(rule.direction)
    v = value.to_numpy(dtype="float64")
    months = np.full(v.shape, np.nan)
    since = np.full(v.shape, None, dtype=object)
    labels = np.array(metrics.labels, dtype=object)
    rows = np.arange(len(v))
    for j in range(v.shape[1]):
        col = v[:, j]
        with np.errstate(invalid="ignore"):
            way = s * col > 0
        gap = np.maximum.accumulate(np.where(np.isnan(col), rows, -1))  # the last gap at or before
        last = np.maximum.accumulate(np.where(way, rows, -1))  # the last row moving this way
        before = np.append(-1, last[:-1])  # ... before this row
        ok = way & (before >= 0) & (before > gap)
        months[ok, j] = (rows - before)[ok]
        since[ok, j] = labels[before[ok]]
    metric = pd.DataFrame(months, index=value.index, columns=value.columns)
    return {
        "value": value,
        "metric": metric,
        "since": pd.DataFrame(since, index=value.index, columns=value.columns),
        "ok": metric >= 2,
    }
