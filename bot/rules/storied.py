"""How rare an event's claim is (:mod:`bot.rules.rarity`'s one scale), found for one event at a
time from the entity's history up to the event month: the years since a move as large, a run as
long, a level as far, or the holder as high (low) among holders, and the month that was."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bot.rules.catalogue import Rule
from bot.rules.kinds import Claim
from bot.rules.levels import level_since
from bot.rules.metrics import Metrics, run_lengths
from bot.rules.rarity import rarity
from bot.rules.selection import rule_column, sign

EXTENDED = 0.1  # a record beating the record of its own episode by less than this share extends it
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
    valid = np.flatnonzero(np.isfinite(y[runs_from : i + 1]))
    return rarity((i - runs_from - int(valid[0])) / 12), None


def move_rarity(metrics: Metrics, rule: Rule, entity: str, i: int, run: int | None, metric: float) -> Found:
    """Years since a move as large; a record: its history, but when it beats by less than
    :data:`EXTENDED` a record on an overlapping window (they share months: the same episode, told
    a month or two before), the years since that record (Canada's 3-month net sales, Mar 2026:
    26.4bn against 25.7bn in Feb; not the Grand Total's 495.2bn against 280.3bn, Apr 2020)."""
    y = sign(rule.direction) * rule_column(metrics, rule, entity)
    with np.errstate(invalid="ignore"):
        y = np.where(y > 0, y, np.nan)
    found = _back(metrics, y, i)
    before = y[:i]
    if found[1] is None and rule.window > 1 and np.isfinite(before).any():
        beaten = int(np.nanargmax(before))  # the record it beats (where it was set)
        if beaten > i - rule.window and y[i] < (1 + EXTENDED) * before[beaten]:
            return rarity((i - beaten) / 12), None
    return found


def run_rarity(metrics: Metrics, rule: Rule, entity: str, i: int, run: int | None, metric: float) -> Found:
    step = metrics.window_column(rule.series, 1, entity)[: i + 1]
    with np.errstate(invalid="ignore"):
        runs = run_lengths(sign(rule.direction) * step > 0).astype("float64")
    runs[np.isnan(step)] = np.nan
    start = i - (run or 0) + 1
    return _back(metrics, np.append(runs[:start], runs[i]), start)  # runs before this one began


def level_rarity(metrics: Metrics, rule: Rule, entity: str, i: int, run: int | None, metric: float) -> Found:
    """The candidate's years as news (:func:`~bot.rules.levels.level_since`: a record's are the
    years since the extreme it beats was set; a record high a month after the last is not rare)."""
    return rarity(level_since(metrics, rule.series, entity, i, rule.direction).news), None


def rank_rarity(metrics: Metrics, rule: Rule, entity: str, i: int, run: int | None, metric: float) -> Found:
    level = metrics.values(rule.series)
    countries = [c for c in level.columns if c in set(metrics.countries)]
    places = metrics.memo(("places", rule.series), lambda: level[countries].rank(axis=1, ascending=False))
    if entity not in places.columns:
        return 0.0, None
    y = -places[entity].to_numpy() * (1 if rule.direction != "down" else -1)  # higher place: larger
    return _back(metrics, y, i)


def turn_rarity(metrics: Metrics, rule: Rule, entity: str, i: int, run: int | None, metric: float) -> Found:
    """The years since the last month that moved this way (the candidate's metric, in months)."""
    since = metrics.labels[i - int(metric)] if 0 < metric <= i else None
    return rarity(metric / 12), since


# how each claim's rarity is found
RARITY: dict[Claim, Callable[[Metrics, Rule, str, int, int | None, float], Found]] = {
    Claim.MOVE: move_rarity,
    Claim.STREAK: run_rarity,
    Claim.LEVEL: level_rarity,
    Claim.RANK: rank_rarity,
    Claim.TURN: turn_rarity,
}
