"""Candidates of the kinds that claim a level or a place: a multi-year (or record) low or high,
and a move among the largest holders. Months ≤ t only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.data.entities import HOLDINGS
from bot.data.windows import DECIMALS
from bot.rules.catalogue import Rule
from bot.rules.metrics import Metrics
from bot.rules.rarity import as_far_back, horizon
from bot.rules.selection import Frames, selection, sign, watched_spans

REPEAT = 12  # months: Alertmanager's repeat interval for a persisting low/high
MIN_YEARS = 0.5  # the shortest span a low/high claims, whatever the holder's horizon
# a persisting low/high is told again when it goes beyond the level last told and its "since"
# reaches further back than the one last told by this share of that claim's years (China's
# lowest since May 2010, 11.7 years: again from lowest since Feb 2009, not every month)
RETELL_SHARE = 0.02
# the largest holders' (Metrics.largest) every new record high or low is news, however soon after
# the last ("foreign holdings of Treasuries hit a record" is the headline each time), and so is
# a low (high) deeper than the one last told from LARGEST_YEARS; a smaller holder's record is news
# when the extreme it beats is its horizon old
LARGEST_YEARS = 1.0
RECORD_HISTORY = 5.0  # years of data before a record of the largest is news (as min_history 60)
DEEPER = 0.01  # a largest holder's persisting low (high) is news again this share beyond the last told


def multi_year(metrics: Metrics, rule: Rule, wanted: np.ndarray) -> Frames:
    """Years since the level was last as low (high), over the entity's unbroken run of months only
    (a gap ends the history a claim may span); none as far: a record over the run so far. News
    when it is as rare as the holder's :func:`~bot.rules.rarity.horizon` asks (a record: when the
    extreme it beats is that old, :func:`news_years`), when the condition starts or when a
    persisting one goes further (:func:`_persisting_told`)."""
    level = metrics.values(rule.series)
    sel = selection(metrics, rule, level).any(axis=0)
    s = sign(rule.direction)
    years = np.full(level.shape, np.nan)
    since = np.full(level.shape, None, dtype=object)
    told = np.zeros(level.shape, dtype=bool)
    labels = np.array(metrics.labels, dtype=object)
    least = horizon(metrics.values(HOLDINGS).reindex(index=level.index, columns=level.columns)).to_numpy()
    top = metrics.largest.reindex(index=level.index, columns=level.columns, fill_value=False).to_numpy()
    year = level.index.year.to_numpy()
    for j, v, lo, hi in watched_spans(level, sel):
        y = s * v[lo:hi]
        months, last, news = as_far(y)
        yrs = months / 12.0
        years[lo:hi, j] = yrs
        since[lo:hi, j] = np.where(~np.isnan(y) & (last >= 0), labels[lo:hi][np.clip(last, 0, None)], None)
        largest = top[lo:hi, j]
        with np.errstate(invalid="ignore"):
            eligible = news >= np.where(largest, LARGEST_YEARS, np.maximum(least[lo:hi, j], MIN_YEARS))
        eligible |= (last < 0) & (yrs >= RECORD_HISTORY) & largest  # a record of the largest
        told[lo:hi, j] = _persisting_told(y, yrs, last, eligible, year[lo:hi], largest)
    years_frame = pd.DataFrame(years, index=level.index, columns=level.columns).round(DECIMALS)
    told_frame = pd.DataFrame(told, index=level.index, columns=level.columns)
    return {
        "value": level,
        "metric": years_frame,
        "since": pd.DataFrame(since, index=level.index, columns=level.columns),
        "ok": told_frame,
    }


@dataclass(frozen=True)
class LevelSince:
    """Since when a level is as low (high): the one answer for a multi-year low/high, its rarity,
    and where a holdings move ends (", to 652.3bn, the lowest since Sep 2008")."""

    years: float  # since the level was as far; a record: since the first month of its run
    since: str | None  # the month it was last as far (None: a record over the unbroken run)
    news: float  # how rare as news: ``years``, but a record's is the years since the extreme it beats
    breaks: tuple[str, ...]  # non-comparable series breaks the comparison spans, "label (Mon YYYY)"


def level_since(metrics: Metrics, series: str, entity: str, i: int, direction: str) -> LevelSince:
    """Since when the level at row i is as low (a decline, a low) or as high (a rise, a high), over
    the unbroken run of months ending at i (:func:`as_far`), and the series breaks without a
    comparison value that the claim compares across (the message says so: like with like)."""
    column = metrics.column(series, entity)
    if not 0 <= i < len(column) or np.isnan(column[i]):
        return LevelSince(0.0, None, 0.0, ())
    months, last, news = as_far(sign(direction) * column[: i + 1], at=np.array([i]))
    first = int(last[i]) if last[i] >= 0 else i - int(months[i])  # the earliest month compared
    breaks = metrics.breaks_between(entity, series, metrics.index[first], metrics.index[i])
    since = metrics.labels[int(last[i])] if last[i] >= 0 else None
    return LevelSince(float(months[i]) / 12.0, since, float(news[i]), tuple(breaks))


def as_far(y: np.ndarray, at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each row of ``y`` (sign × level; NaN = a gap, which ends a run) or the rows ``at``:
    the months back to the last row as far in its unbroken run, that row (-1: a record over the
    run, the months then from its first figure; :func:`~bot.rules.rarity.as_far_back`), and the
    years as news (:func:`news_years`)."""
    months, last = as_far_back(y, runs=True, at=at)
    return months, last, news_years(y, months / 12.0, last)


def news_years(y: np.ndarray, years: np.ndarray, last: np.ndarray) -> np.ndarray:
    """How rare each level is as news: its years since as far (``years``), or for a record the
    years since the extreme it beats was set (levels trend with the debt stock: a record high a
    month after the last one is not rare; none before it in its run: 0). ``y``: sign × level,
    NaN = a gap (which ends a run)."""
    n = len(y)
    pos = np.arange(n)
    peak = np.full(n, -1)  # the row the run's maximum before each row was first set (-1: none)
    valid = np.flatnonzero(~np.isnan(y))
    for run in np.split(valid, np.flatnonzero(np.diff(valid) > 1) + 1) if len(valid) else []:
        seg = y[run]
        top = np.maximum.accumulate(seg)
        rises = np.append(True, seg[1:] > top[:-1])  # a new maximum is set here
        set_at = run[np.maximum.accumulate(np.where(rises, np.arange(len(run)), 0))]
        peak[run[1:]] = set_at[:-1]
    record = (last < 0) & ~np.isnan(y)
    return np.where(record, np.where(peak >= 0, (pos - peak) / 12, 0.0), years)


def _persisting_told(
    y: np.ndarray,
    years: np.ndarray,
    last: np.ndarray,
    eligible: np.ndarray,
    year: np.ndarray,
    largest: np.ndarray,
) -> np.ndarray:
    """Rows where a low/high is news (y = sign × level, ``year``: each row's calendar year): it
    starts (nothing eligible in the previous REPEAT months), or it goes beyond the level last told
    and its "since" reaches further back than the one last told, into an earlier calendar year
    (the press's "lowest since 2008", told the month it was "since 2009") or by
    :data:`RETELL_SHARE` of that claim's years (a record is eligible only when the extreme it
    beats is old, :func:`news_years`); for one of the ``largest`` holders that month, whenever it
    is :data:`DEEPER` of the level last told beyond it, or its "since" reaches back further (China
    "the lowest since May 2010" month after month as it fell from 1,047bn to 868bn; not at
    683.5bn a month after 683.9bn). A forward scan over months ≤ t, so the backtest and the live
    release agree."""
    out = np.zeros(len(y), dtype=bool)
    # the level last told, the row its "since" may not reach (−inf: a record), its since's year,
    # and its since (−inf: a record)
    told: tuple[float, float, int, float] | None = None
    for t in range(len(y)):
        if not eligible[t]:
            continue
        fresh = not eligible[max(0, t - REPEAT) : t].any()
        since = float(last[t]) if last[t] >= 0 else -np.inf
        since_year = int(year[int(last[t])]) if last[t] >= 0 else -1
        if not fresh and told is not None and y[t] > told[0]:  # a record is eligible only when rare
            deeper = y[t] - told[0] >= DEEPER * abs(told[0]) or since < told[3]
            further = since < told[1] or since_year < told[2] or (bool(largest[t]) and deeper)
            fresh = since == -np.inf or further
        if fresh:
            limit = since - RETELL_SHARE * 12 * float(years[t])
            out[t], told = True, (float(y[t]), limit, since_year, since)
    return out


def rank_change(metrics: Metrics, rule: Rule, wanted: np.ndarray) -> Frames:
    level = metrics.values(rule.series)
    countries = [c for c in level.columns if c in set(metrics.countries)]
    now = level[countries]
    then = now.shift(rule.window)
    now, then = _like_with_like(metrics, rule, now, then)
    both = now.notna() & then.notna()
    r_now = now.where(both).rank(axis=1, ascending=False, method="min")
    r_then = then.where(both).rank(axis=1, ascending=False, method="min")
    moved = r_then - r_now  # > 0: moved up
    metric = moved.abs() if rule.direction == "either" else sign(rule.direction) * moved
    top = np.minimum(r_now, r_then) <= rule.top_n
    ok = (metric >= 1) & top
    full = level.columns
    return {
        "value": now.reindex(columns=full),
        "metric": metric.reindex(columns=full),
        "level": now.reindex(columns=full),
        "rank_from": r_then.reindex(columns=full),
        "rank_to": r_now.reindex(columns=full),
        "ok": ok.reindex(columns=full, fill_value=False),
    }


def _like_with_like(
    metrics: Metrics, rule: Rule, now: pd.DataFrame, then: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Levels to rank across a window that crosses a series break: at the break month itself the
    old series' comparison column where the Treasury prints one; otherwise nothing (no event)."""
    prior = metrics.panel.wide(f"{rule.series}_prior").reindex(index=now.index, columns=now.columns)
    src = metrics.sources(rule.series).reindex(index=now.index, columns=now.columns).to_numpy()
    v_now, v_then = now.to_numpy().copy(), then.to_numpy()
    for i, names, comparable in metrics.break_rows:
        hit = np.array([isinstance(c, str) and bool(names & set(c.split(" + "))) for c in src[i]])
        if not hit.any():
            continue
        for t in range(i, min(i + rule.window, len(v_now))):  # windows (t - window, t] holding i
            if t == i and comparable:
                v_now[t] = np.where(hit, prior.to_numpy()[i], v_now[t])
            else:
                v_now[t] = np.nan  # a ranking needs every holder on one series
    return pd.DataFrame(v_now, index=now.index, columns=now.columns), pd.DataFrame(
        v_then, index=then.index, columns=then.columns
    )
