"""Step 1 of evaluation: every place a rule would fire at its loosest threshold, vectorised.

:func:`candidates` computes, over months × entities, the *metric* a rule's threshold is compared
with (a $bn or % move, a rank, months running, years, places). Nothing looks past the month
being evaluated: windows, ranks, rosters and records at month t use only months ≤ t.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from bot.data.ranking import magnitudes, rank_in_history
from bot.data.windows import DECIMALS
from bot.rules.catalogue import COUNTRIES, GROUPS, MAJOR, Rule
from bot.rules.kinds import MAX_TOP_K
from bot.rules.metrics import Metrics, run_lengths

DOWN = ("decline", "low", "down")
EXTRA_COLUMNS = ("level", "streak", "since", "rank_from", "rank_to")


def sign(direction: str) -> int:
    """−1 for the downward directions (decline, low, down), +1 otherwise."""
    return -1 if direction in DOWN else 1


def candidates(metrics: Metrics, rule: Rule, months: Sequence[pd.Period] | pd.PeriodIndex) -> pd.DataFrame:
    """Every (month, entity) in ``months`` where ``rule`` fires at its loosest threshold.

    Columns: period, entity, value (the figure the message quotes), metric (what the threshold is
    compared with) and the kind's extras (level, streak, since, rank_from, rank_to).
    """
    kind = rule.kind
    if kind in ("change", "official_selling"):
        frames = _change(metrics, rule)
    elif kind == "record":
        frames = _record(metrics, rule)
    elif kind == "streak":
        frames = _streak(metrics, rule)
    elif kind == "multi_year":
        frames = _multi_year(metrics, rule)
    elif kind == "rank_change":
        frames = _rank_change(metrics, rule)
    else:  # pragma: no cover - load_rules rejects unknown kinds
        raise ValueError(f"unknown kind {kind!r}")
    return _stack(frames, _selection(metrics, rule, frames["value"]), months)


def _selection(metrics: Metrics, rule: Rule, like: pd.DataFrame) -> pd.DataFrame:
    """True where an entity is watched by the rule at a month (``@major`` depends on the month)."""
    sel = pd.DataFrame(False, index=like.index, columns=like.columns)
    names: set[str] = set()
    for e in rule.entities:
        if e == GROUPS:
            names |= {g.name for g in metrics.panel.groups}
        elif e == COUNTRIES:
            names |= set(metrics.countries)
        elif e != MAJOR:
            names.add(e)
    cols = [c for c in like.columns if c in names]
    sel.loc[:, cols] = True
    if MAJOR in rule.entities:
        major = metrics.major.reindex(index=like.index, columns=like.columns, fill_value=False)
        sel |= major.fillna(False).astype(bool)
    return sel


def _stack(frames: dict[str, pd.DataFrame], sel: pd.DataFrame, months: Iterable[pd.Period]) -> pd.DataFrame:
    ok = frames["ok"].fillna(False).astype(bool) & sel
    wanted = ok.index.isin(pd.PeriodIndex(list(months), freq="M"))
    mask = ok.to_numpy(dtype=bool) & wanted[:, None]
    rows, cols = np.nonzero(mask)
    out = pd.DataFrame(
        {
            "period": ok.index[rows],
            "entity": ok.columns[cols],
            "value": frames["value"].to_numpy()[rows, cols],
            "metric": frames["metric"].to_numpy()[rows, cols],
        }
    )
    for extra in EXTRA_COLUMNS:
        out[extra] = frames[extra].to_numpy()[rows, cols] if extra in frames else None
    return out


def _change(metrics: Metrics, rule: Rule) -> dict[str, pd.DataFrame]:
    value = rule_values(metrics, rule)
    metric = sign(rule.direction) * value
    return {"value": value, "metric": metric, "ok": metric > 0}


def rule_values(metrics: Metrics, rule: Rule) -> pd.DataFrame:
    """The figure a change/record rule watches: the window in $bn, or in % of the starting level."""
    w = metrics.window(rule.series, rule.window)
    if rule.unit != "pct":
        return w

    def pct() -> pd.DataFrame:
        start = metrics.values(rule.series).shift(rule.window).reindex(columns=w.columns)
        return (w / start.where(start > 0) * 100).round(DECIMALS)

    return metrics.memo(("pct", rule.series, rule.window), pct)


def _watched_spans(frame: pd.DataFrame, sel: pd.Series) -> Iterator[tuple[int, np.ndarray, int, int]]:
    """For each watched column with a figure: its index, its values, and the rows lo:hi from its
    first to its last figure (outside that span it is all NaN)."""
    for j in np.flatnonzero(sel.to_numpy()):
        v = frame.iloc[:, j].to_numpy()
        valid = np.flatnonzero(~np.isnan(v))
        if len(valid):
            yield int(j), v, int(valid[0]), int(valid[-1]) + 1


def _record(metrics: Metrics, rule: Rule) -> dict[str, pd.DataFrame]:
    value = rule_values(metrics, rule)
    sel = _selection(metrics, rule, value).any(axis=0)
    s = sign(rule.direction)
    ranks = np.zeros(value.shape, dtype=int)
    for j, v, lo, hi in _watched_spans(value, sel):
        rank = rank_in_history(magnitudes(v[lo:hi], s), np.arange(hi - lo))[0]
        with np.errstate(invalid="ignore"):
            ranks[lo:hi, j] = np.where(s * v[lo:hi] > 0, rank, 0)  # a candidate moved (not zero)
    rank = pd.DataFrame(ranks, index=value.index, columns=value.columns)
    history = value.notna().cumsum()
    ok = (rank >= 1) & (rank <= MAX_TOP_K) & (history >= rule.min_history)
    return {"value": value, "metric": rank.astype("float64"), "ok": ok}


def _streak(metrics: Metrics, rule: Rule) -> dict[str, pd.DataFrame]:
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
        "streak": frame,
        "ok": frame >= 2,
    }


def _multi_year(metrics: Metrics, rule: Rule) -> dict[str, pd.DataFrame]:
    level = metrics.values(rule.series)
    sel = _selection(metrics, rule, level).any(axis=0)
    s = sign(rule.direction)
    years = np.full(level.shape, np.nan)
    since = np.full(level.shape, None, dtype=object)
    labels = np.array(metrics.labels, dtype=object)
    for j, v, lo, hi in _watched_spans(level, sel):
        y = s * v[lo:hi]
        pos = np.arange(hi - lo)
        with np.errstate(invalid="ignore"):
            as_far = (y[None, :] >= y[:, None]) & (pos[None, :] < pos[:, None])  # [t, s]: s < t, as low/high
        last = np.where(as_far, pos[None, :], -1).max(axis=1)
        months_since = np.where(last >= 0, pos - last, pos)  # none as far: the whole history so far
        ok = ~np.isnan(y)
        years[lo:hi, j] = np.where(ok, months_since / 12.0, np.nan)
        since[lo:hi, j] = np.where(ok & (last >= 0), labels[lo:hi][np.clip(last, 0, None)], None)
    years_frame = pd.DataFrame(years, index=level.index, columns=level.columns).round(DECIMALS)
    return {
        "value": level,
        "metric": years_frame,
        "since": pd.DataFrame(since, index=level.index, columns=level.columns),
        "ok": years_frame >= 0.5,
    }


def _rank_change(metrics: Metrics, rule: Rule) -> dict[str, pd.DataFrame]:
    level = metrics.values(rule.series)
    countries = [c for c in level.columns if c in set(metrics.countries)]
    now = level[countries]
    then = now.shift(rule.window)
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


