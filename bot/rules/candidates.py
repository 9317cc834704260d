"""Step 1 of evaluation: every place a rule would fire at its loosest threshold, vectorised.

:func:`candidates` computes, over months × entities, the *metric* a rule's threshold is compared
with (a $bn or % move, a rank, months running, years, places). Nothing looks past the month
being evaluated: windows, ranks, rosters and records at month t use only months ≤ t.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from bot.data.entities import HOLDINGS
from bot.data.ranking import magnitudes, rank_in_history
from bot.data.windows import DECIMALS, compute_windows
from bot.rules.catalogue import COUNTRIES, GROUPS, MAJOR, Rule
from bot.rules.kinds import MAX_TOP_K, Claim, KindName, Measure, meets_threshold
from bot.rules.metrics import Metrics, run_lengths

DOWN = ("decline", "low", "down")
Frames = dict[str, pd.DataFrame]  # value, metric, ok and a kind's extras, months × entities
EXTRA_COLUMNS = ("level", "run", "since", "rank_from", "rank_to")
DEEPER = 0.05  # a persisting low/high is told again only 5% beyond where it was last told
REPEAT = 12  # months: Alertmanager's repeat interval for a persisting low/high


def milestone(months: np.ndarray) -> np.ndarray:
    """Streak lengths at which a persisting run is told again: 2^k or 3·2^k months."""
    n = np.nan_to_num(months).astype(np.int64)
    odd = n // (n & -np.maximum(n, 1)).clip(1)  # n with its factors of 2 removed
    return (n >= 2) & ((odd == 1) | (odd == 3))


def fires(rule: Rule, frame: pd.DataFrame, threshold: float, floor: float) -> np.ndarray:
    """Which candidate rows fire under a threshold and a $bn floor (the one place both apply).

    A streak is told at milestones, not every month it persists: 2, 3, 4, 6, 8, 12, 16, 24 …
    months (2^k and 3·2^k) from the threshold on; the same set for every threshold, so a stricter
    threshold only removes events (a threshold between milestones is told first at the next one).
    """
    return fires_arrays(
        rule,
        frame["metric"].to_numpy(dtype="float64"),
        frame["move"].to_numpy(dtype="float64"),
        threshold,
        floor,
    )


def fires_arrays(
    rule: Rule, metric: np.ndarray, move: np.ndarray, threshold: float, floor: float
) -> np.ndarray:
    """:func:`fires` on the candidates' metric and move arrays."""
    with np.errstate(invalid="ignore"):
        ok = np.asarray(meets_threshold(rule.spec, metric, threshold)) & (np.isnan(move) | (move >= floor))
        if rule.spec.claim == Claim.STREAK:
            ok &= milestone(metric)
    return ok


def sign(direction: str) -> int:
    """−1 for the downward directions (decline, low, down), +1 otherwise."""
    return -1 if direction in DOWN else 1


def candidates(metrics: Metrics, rule: Rule, months: Sequence[pd.Period] | pd.PeriodIndex) -> pd.DataFrame:
    """Every (month, entity) in ``months`` where ``rule`` fires at its loosest threshold.

    Columns: period, entity, value (the figure the message quotes), metric (what the threshold is
    compared with) and the kind's extras (level, run, since, rank_from, rank_to).
    """
    frames = CANDIDATES[rule.spec.name](metrics, rule)
    sel = _selection(metrics, rule, frames["value"])
    size = metrics.values(HOLDINGS).reindex(index=sel.index, columns=sel.columns)
    if rule.min_size > 0:
        sel = sel & (size >= rule.min_size).to_numpy()
    frames["move"] = _floor_move(metrics, rule, frames)
    return _stack(frames, sel, months)


def _floor_move(metrics: Metrics, rule: Rule, frames: Frames) -> pd.DataFrame:
    """The $bn move in the rule's direction that its floor is compared with (NaN: no floor)."""
    like = frames["value"]
    floor = rule.spec.floor
    if floor == Measure.NONE:
        return pd.DataFrame(np.nan, index=like.index, columns=like.columns)
    bn = frames["value"] if floor == Measure.RUN else metrics.window(rule.series, rule.window)
    return sign(rule.direction) * bn.reindex(columns=like.columns)


def _selection(metrics: Metrics, rule: Rule, like: pd.DataFrame) -> pd.DataFrame:
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
        elif e != MAJOR:
            names.add(e)
    cols = [c for c in like.columns if c in names]
    sel.loc[:, cols] = True
    if MAJOR in rule.entities:
        major = metrics.major.reindex(index=like.index, columns=like.columns, fill_value=False)
        sel |= major.fillna(False).astype(bool)
    return sel


def _stack(frames: Frames, sel: pd.DataFrame, months: Iterable[pd.Period]) -> pd.DataFrame:
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
            "move": frames["move"].to_numpy()[rows, cols],
        }
    )
    for extra in EXTRA_COLUMNS:
        out[extra] = frames[extra].to_numpy()[rows, cols] if extra in frames else None
    return out


def _change(metrics: Metrics, rule: Rule) -> Frames:
    value = rule_values(metrics, rule)
    metric = sign(rule.direction) * value
    return {"value": value, "metric": metric, "ok": metric > 0}


def rule_values(metrics: Metrics, rule: Rule) -> pd.DataFrame:
    """The figure a change/record rule watches: the window in $bn, or in % of the starting level."""
    w = metrics.window(rule.series, rule.window)
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


def _watched_spans(frame: pd.DataFrame, sel: pd.Series) -> Iterator[tuple[int, np.ndarray, int, int]]:
    """For each watched column with a figure: its index, its values, and the rows lo:hi from its
    first to its last figure (outside that span it is all NaN)."""
    for j in np.flatnonzero(sel.to_numpy()):
        v = frame.iloc[:, j].to_numpy()
        valid = np.flatnonzero(~np.isnan(v))
        if len(valid):
            yield int(j), v, int(valid[0]), int(valid[-1]) + 1


def _record(metrics: Metrics, rule: Rule) -> Frames:
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


def _streak(metrics: Metrics, rule: Rule) -> Frames:
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


def _multi_year(metrics: Metrics, rule: Rule) -> Frames:
    """Years since the level was last as low (high), over the entity's unbroken run of months only
    (a gap ends the history a claim may span); told when the condition starts (no loosest candidate
    in the previous :data:`REPEAT` months) or deepens :data:`DEEPER` past where it was last told."""
    level = metrics.values(rule.series)
    sel = _selection(metrics, rule, level).any(axis=0)
    s = sign(rule.direction)
    years = np.full(level.shape, np.nan)
    since = np.full(level.shape, None, dtype=object)
    told = np.zeros(level.shape, dtype=bool)
    labels = np.array(metrics.labels, dtype=object)
    for j, v, lo, hi in _watched_spans(level, sel):
        y = s * v[lo:hi]
        pos = np.arange(hi - lo)
        gap = np.where(np.isnan(y), pos, -1)
        run_start = np.maximum.accumulate(gap) + 1  # first row of the unbroken run ending at each row
        with np.errstate(invalid="ignore"):
            as_far = (y[None, :] >= y[:, None]) & (pos[None, :] < pos[:, None])  # [t, s]: s < t, as low/high
        as_far &= pos[None, :] >= run_start[:, None]
        last = np.where(as_far, pos[None, :], -1).max(axis=1)
        months_since = np.where(last >= 0, pos - last, pos - run_start)  # none as far: the run so far
        ok = ~np.isnan(y)
        yrs = np.where(ok, months_since / 12.0, np.nan)
        years[lo:hi, j] = yrs
        since[lo:hi, j] = np.where(ok & (last >= 0), labels[lo:hi][np.clip(last, 0, None)], None)
        told[lo:hi, j] = _persisting_told(y, yrs, s)
    years_frame = pd.DataFrame(years, index=level.index, columns=level.columns).round(DECIMALS)
    told_frame = pd.DataFrame(told, index=level.index, columns=level.columns)
    return {
        "value": level,
        "metric": years_frame,
        "since": pd.DataFrame(since, index=level.index, columns=level.columns),
        "ok": (years_frame >= 0.5) & told_frame,
    }


def _persisting_told(y: np.ndarray, years: np.ndarray, s: int) -> np.ndarray:
    """Rows where a low/high is news (y = sign × level): it starts (no 6-month extreme in the
    previous REPEAT months), or it is DEEPER than where it was last told. A forward scan over
    months ≤ t, so the backtest and the live release agree."""
    out = np.zeros(len(y), dtype=bool)
    told: float | None = None
    with np.errstate(invalid="ignore"):
        cand = years >= 0.5
    for t in np.flatnonzero(cand):
        fresh = not cand[max(0, t - REPEAT) : t].any()
        if fresh or (told is not None and y[t] - told >= DEEPER * abs(told)):
            out[t], told = True, float(y[t])
    return out


def _rank_change(metrics: Metrics, rule: Rule) -> Frames:
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


# each kind's candidate function (a kind's facts are in bot.rules.kinds.KINDS)
CANDIDATES: dict[KindName, Callable[[Metrics, Rule], Frames]] = {
    KindName.CHANGE: _change,
    KindName.OFFICIAL_SELLING: _change,
    KindName.RECORD: _record,
    KindName.STREAK: _streak,
    KindName.MULTI_YEAR: _multi_year,
    KindName.RANK_CHANGE: _rank_change,
}
