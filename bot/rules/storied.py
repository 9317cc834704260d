"""How rare an event's claim is (:mod:`bot.rules.rarity`'s one scale), found for one event at a
time from the entity's history up to the event month: the years since a move as large, a run as
long, a level as far, or the holder as high (low) among holders, and the month that was."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bot.rules.catalogue import Rule
from bot.rules.kinds import Claim
from bot.rules.metrics import Metrics, run_lengths
from bot.rules.rarity import rarity
from bot.rules.selection import rule_values, sign

Found = tuple[float, str | None]  # (rarity in years, month of the last as far; None: a record)


def _back(metrics: Metrics, y: np.ndarray, i: int, runs_from: int = 0) -> Found:
    """Years from row i back to the last earlier row with y at least y[i] (NaN never counts);
    none: the years since the first figure (a record)."""
    if i >= len(y) or not np.isfinite(y[i]):
        return 0.0, None
    with np.errstate(invalid="ignore"):
        hits = np.flatnonzero(y[runs_from:i] >= y[i])
    if len(hits):
        last = runs_from + int(hits[-1])
        return rarity((i - last) / 12), metrics.labels[last]
    valid = np.flatnonzero(np.isfinite(y[: i + 1]))
    return rarity((i - int(valid[0])) / 12), None


def move_rarity(metrics: Metrics, rule: Rule, entity: str, i: int, run: int | None, metric: float) -> Found:
    if rule.unit == "pct":
        values = rule_values(metrics, rule)[entity].to_numpy()
    else:
        values = metrics.window_column(rule.series, rule.window, entity)
    y = sign(rule.direction) * values
    with np.errstate(invalid="ignore"):
        return _back(metrics, np.where(y > 0, y, np.nan), i)


def run_rarity(metrics: Metrics, rule: Rule, entity: str, i: int, run: int | None, metric: float) -> Found:
    step = metrics.window_column(rule.series, 1, entity)[: i + 1]
    with np.errstate(invalid="ignore"):
        runs = run_lengths(sign(rule.direction) * step > 0).astype("float64")
    runs[np.isnan(step)] = np.nan
    start = i - (run or 0) + 1
    return _back(metrics, np.append(runs[:start], runs[i]), start)  # runs before this one began


def level_rarity(metrics: Metrics, rule: Rule, entity: str, i: int, run: int | None, metric: float) -> Found:
    """The candidate's own years since as far; for a record, the years since the extreme it beats
    (levels trend with the debt stock: a record high a month after the last one is not rare)."""
    y = sign(rule.direction) * metrics.column(rule.series, entity)[: i + 1]
    start = i - round(metric * 12)  # the record's history: the unbroken run of figures
    before = y[max(start, 0) : i]
    if len(before) and np.isfinite(before).any() and y[i] > np.nanmax(before):
        peak = max(start, 0) + int(np.flatnonzero(before == np.nanmax(before))[-1])
        return rarity((i - peak) / 12), None
    return rarity(metric), None


def rank_rarity(metrics: Metrics, rule: Rule, entity: str, i: int, run: int | None, metric: float) -> Found:
    level = metrics.values(rule.series)
    countries = [c for c in level.columns if c in set(metrics.countries)]
    places = metrics.memo(("places", rule.series), lambda: level[countries].rank(axis=1, ascending=False))
    if entity not in places.columns:
        return 0.0, None
    y = -places[entity].to_numpy() * (1 if rule.direction != "down" else -1)  # higher place: larger
    return _back(metrics, y, i)


# how each claim's rarity is found
RARITY: dict[Claim, Callable[[Metrics, Rule, str, int, int | None, float], Found]] = {
    Claim.MOVE: move_rarity,
    Claim.STREAK: run_rarity,
    Claim.LEVEL: level_rarity,
    Claim.RANK: rank_rarity,
}
