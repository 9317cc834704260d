"""Pure evaluation: panel + rules (+ a subscriber's thresholds) → events.

Two steps. :func:`candidates` computes, vectorised over months × entities, every place a rule
would fire at its loosest threshold, with the *metric* its threshold is compared with (a $bn or
% move, a rank, months running, years, places). :class:`Release` turns one month's candidates
into :class:`~bot.events.Event` values once; a subscriber's thresholds then only pick a prefix
of each rule's candidates (:meth:`Release.fire`). The backtest (:mod:`bot.backtest`) reuses
:func:`candidates` and :func:`build_event` for every month at once.

Nothing here looks past the month being evaluated: windows, ranks, rosters and records at
month t use only months ≤ t.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from bot.entities import (
    GRAND_TOTAL,
    HOLDINGS,
    LT_HOLDINGS,
    LT_NET,
    LT_VALUATION,
    NET,
    Group,
)
from bot.events import Event, Part, Rank
from bot.metrics import Metrics, expanding_rank, rank_at
from bot.panel import DECIMALS, STOCKS, Panel
from bot.rules import (
    COUNTRIES,
    GROUPS,
    MAJOR,
    MAX_TOP_K,
    SEVERITY_ORDER,
    Rule,
    check_overrides,
    threshold_for,
)

DOWN = ("decline", "low", "down")
SOURCE_NAMES = {
    "s1_globl.txt": "Form S",
    "slt_table3.txt": "SLT Table 3",
    "slt_table5.txt": "SLT Table 5",
    "mfhhis01.txt": "MFH history",
    "slt3d_globl.csv": "SLT 3D",
    "mfh.txt": "MFH",
}
EXTRA_COLUMNS = ("level", "streak", "since", "rank_from", "rank_to")


def sign(direction: str) -> int:
    """−1 for the downward directions (decline, low, down), +1 otherwise."""
    return -1 if direction in DOWN else 1


# --- step 1: candidates, vectorised --------------------------------------------------------------------


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
    value = _rule_values(metrics, rule)
    metric = sign(rule.direction) * value
    return {"value": value, "metric": metric, "ok": metric > 0}


def _rule_values(metrics: Metrics, rule: Rule) -> pd.DataFrame:
    """The figure a change/record rule watches: the window in $bn, or in % of the starting level."""
    w = metrics.window(rule.series, rule.window)
    if rule.unit != "pct":
        return w

    def pct() -> pd.DataFrame:
        start = metrics.values(rule.series).shift(rule.window).reindex(columns=w.columns)
        return (w / start.where(start > 0) * 100).round(DECIMALS)

    return metrics.memo(("pct", rule.series, rule.window), pct)


def _record(metrics: Metrics, rule: Rule) -> dict[str, pd.DataFrame]:
    value = _rule_values(metrics, rule)
    sel = _selection(metrics, rule, value).any(axis=0)
    s = sign(rule.direction)
    ranks = np.zeros(value.shape, dtype=int)
    for j in np.flatnonzero(sel.to_numpy()):
        v = value.iloc[:, j].to_numpy()
        valid = np.flatnonzero(~np.isnan(v))
        if not len(valid):
            continue
        lo, hi = valid[0], valid[-1] + 1
        with np.errstate(invalid="ignore"):
            same = np.where(s * v[lo:hi] > 0, s * v[lo:hi], np.nan)
        ranks[lo:hi, j] = expanding_rank(same, more_extreme_is_larger=True)[0]
    rank = pd.DataFrame(ranks, index=value.index, columns=value.columns)
    history = value.notna().cumsum()
    ok = (rank >= 1) & (rank <= MAX_TOP_K) & (history >= rule.min_history)
    return {"value": value, "metric": rank.astype("float64"), "ok": ok}


def _streak(metrics: Metrics, rule: Rule) -> dict[str, pd.DataFrame]:
    step = metrics.window(rule.series, 1)
    moving = (sign(rule.direction) * step > 0).to_numpy(dtype=bool)
    count = np.cumsum(moving, axis=0)
    reset = np.maximum.accumulate(np.where(~moving, count, 0), axis=0)
    run = count - reset
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
    for j in np.flatnonzero(sel.to_numpy()):
        v = level.iloc[:, j].to_numpy()
        valid = np.flatnonzero(~np.isnan(v))
        if not len(valid):
            continue
        lo, hi = valid[0], valid[-1] + 1  # the entity's span: levels outside it are all NaN
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


# --- step 2: events ------------------------------------------------------------------------------------


def build_event(
    metrics: Metrics, rule: Rule, row: Mapping[str, Any], threshold: float, release: str
) -> Event:
    """The event a candidate row becomes, with its rank in history, parts and caveats."""
    t: pd.Period = row["period"]
    i = metrics.position(t)
    entity = str(row["entity"])
    value = float(row["value"])
    streak = None if _missing(row.get("streak")) else int(row["streak"])
    months = streak if streak is not None else rule.window
    start = t - months + 1
    rank: Rank | None = None
    notes: list[str] = []
    parts: tuple[Part, ...] = ()
    if rule.kind in ("change", "official_selling", "record"):
        rank = _window_rank(metrics, rule, entity, i)
    elif rule.kind == "streak" and streak is not None:
        rank = _streak_rank(metrics, rule, entity, i, streak)
    if rank is not None:
        since = pd.Period(rank.since, "M")
        notes += [
            f"ranked across a series break: {b}"
            for b in metrics.breaks_between(entity, rule.series, since, t)
        ]
    since_month = None if _missing(row.get("since")) else str(row["since"])
    if rule.kind == "multi_year":
        level = metrics.column(rule.series, entity)
        first = metrics.index[int(np.argmax(~np.isnan(level)))]
        after = pd.Period(since_month, "M") if since_month else first
        notes += [
            f"compared across a series break: {b}"
            for b in metrics.breaks_between(entity, rule.series, after, t)
        ]
    if rule.kind in ("change", "official_selling", "record", "streak"):
        parts, part_notes = decompose(metrics, entity, rule.series, start, t, value)
        notes += part_notes
    level_now: float | None = None
    if rule.series in STOCKS:
        lv = metrics.column(rule.series, entity)[i]
        level_now = None if np.isnan(lv) else float(lv)
    passed = _passed(metrics, rule, entity, t) if rule.kind == "rank_change" else ()
    return Event(
        release=release,
        rule=rule.id,
        kind=rule.kind,
        severity=rule.severity,
        entity=entity,
        basis=rule.series,
        window=months,
        start=str(start),
        end=str(t),
        value=round(value, DECIMALS),
        metric=float(row["metric"]),
        threshold=float(threshold),
        unit=rule.unit if rule.kind in ("change", "record") else "bn",
        direction=rule.direction,
        rank=rank,
        parts=parts,
        level=level_now,
        streak=streak,
        extreme_since=since_month,
        rank_from=None if _missing(row.get("rank_from")) else int(row["rank_from"]),
        rank_to=None if _missing(row.get("rank_to")) else int(row["rank_to"]),
        passed=passed,
        notes=tuple(notes),
    )


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _window_rank(metrics: Metrics, rule: Rule, entity: str, i: int) -> Rank | None:
    """How the rule's window at row i ranks among same-direction windows at rows ≤ i."""
    if rule.unit == "pct":
        values = _rule_values(metrics, rule)[entity].to_numpy()
    else:
        values = metrics.window_column(rule.series, rule.window, entity)
    s = sign(rule.direction)
    upto = values[: i + 1]
    valid = ~np.isnan(upto)
    if not valid.any() or not s * upto[i] > 0:
        return None
    with np.errstate(invalid="ignore"):
        same = np.where(s * upto > 0, s * upto, np.nan)
    rank, of, prev = rank_at(same, i)
    first = int(np.argmax(valid))
    previous = (float(values[prev]), metrics.labels[prev]) if prev is not None else None
    return Rank(rank, of, metrics.labels[first], metrics.labels[i], _what(rule), previous)


def _what(rule: Rule) -> str:
    span = f"{rule.window}-month" if rule.window > 1 else "monthly"
    unit = " (%)" if rule.unit == "pct" and rule.kind in ("change", "record") else ""
    return f"{span} {_noun(rule)}{unit}"


def _noun(rule: Rule) -> str:
    if rule.series == LT_NET:
        return "net selling" if sign(rule.direction) < 0 else "net buying"
    return rule.direction if rule.direction in ("decline", "increase") else "move"


def _streak_rank(metrics: Metrics, rule: Rule, entity: str, i: int, length: int) -> Rank | None:
    """How a run of ``length`` months ending at row i ranks among the earlier runs."""
    step = metrics.window_column(rule.series, 1, entity)[: i + 1]
    valid = ~np.isnan(step)
    if not valid.any():
        return None
    with np.errstate(invalid="ignore"):
        moving = sign(rule.direction) * step > 0
    before = moving[: i + 1 - length]
    # earlier runs: (length, last row)
    ends = np.flatnonzero(before & ~np.append(before[1:], False))
    count = np.cumsum(before)
    reset = np.maximum.accumulate(np.where(~before, count, 0)) if len(before) else count
    lengths = (count - reset)[ends] if len(ends) else np.zeros(0, dtype=int)
    longer = int((lengths > length).sum())
    best = int(np.argmax(lengths)) if len(lengths) else None
    first = int(np.argmax(valid))
    return Rank(
        longer + 1,
        len(lengths) + 1,
        metrics.labels[first],
        metrics.labels[i],
        f"{_noun(rule)} streak",
        (float(lengths[best]), metrics.labels[ends[best]]) if best is not None else None,
    )


def _passed(metrics: Metrics, rule: Rule, entity: str, t: pd.Period) -> tuple[str, ...]:
    """Holders whose order with ``entity`` flipped between t − window and t."""
    level = metrics.values(rule.series)
    countries = [c for c in level.columns if c in set(metrics.countries)]
    if t - rule.window not in level.index:
        return ()
    now = level.loc[t, countries]
    then = level.loc[t - rule.window, countries]
    both = now.notna() & then.notna()
    now, then = now[both], then[both]
    if entity not in now.index:
        return ()
    up = (then > then[entity]) & (now < now[entity])
    down = (then < then[entity]) & (now > now[entity])
    flipped = now[up | down].sort_values(ascending=False)
    return tuple(flipped.index)


def flow_sum(
    metrics: Metrics, entity: str, series: str, start: pd.Period, end: pd.Period
) -> tuple[float | None, str]:
    """Sum of a flow over start..end as Panel.window would (None if a month is missing or the
    months span a series break), with the file(s) it comes from."""
    lo, hi = metrics.position(start), metrics.position(end)
    if lo < 0 or hi >= len(metrics.index):
        return None, ""
    cells = metrics.column(series, entity)[lo : hi + 1]
    if np.isnan(cells).any() or metrics.breaks_between(entity, series, start, end):
        return None, ""
    src = metrics.source_column(series, entity)[lo : hi + 1]
    names = sorted({n for s in src for n in str(s).split(" + ")})
    return round(float(cells.sum()), DECIMALS), " + ".join(SOURCE_NAMES.get(n, n) for n in names)


def _stock_change(
    metrics: Metrics, entity: str, series: str, start: pd.Period, end: pd.Period
) -> float | None:
    v = metrics.window_column(series, (end - start).n + 1, entity)[metrics.position(end)]
    return None if np.isnan(v) else float(v)


def decompose(
    metrics: Metrics, entity: str, series: str, start: pd.Period, end: pd.Period, value: float
) -> tuple[tuple[Part, ...], list[str]]:
    """Net-transaction and valuation parts of a move over start..end, where the data have them.

    For holdings (bills + bonds & notes): SLT Table 3 net transactions and valuation change of
    bonds & notes (from 2023-02), else Form S net purchases of notes & bonds (to 2023-01). For a
    flow basis (net transactions): the valuation change and bonds & notes holdings change.
    What the parts do not explain is shown as a remainder, labelled as derived.
    """
    notes: list[str] = []
    group = next((g for g in metrics.panel.groups if g.name == entity), None)
    parts: list[Part] = []
    if series in STOCKS:
        net: float | None = None
        src = ""
        net_series = NET
        if series == HOLDINGS:
            net, src = flow_sum(metrics, entity, NET, start, end)
        if net is None:
            net_series = LT_NET
            net, src = flow_sum(metrics, entity, LT_NET, start, end)
        if net is None:
            notes.append(_why_missing(metrics, entity, start, end))
            return (), notes
        label = "net transactions" if net_series == NET else "net transactions in bonds & notes"
        valuation, vsrc = flow_sum(metrics, entity, LT_VALUATION, start, end)
        parts.append(Part(label, net, src, _members(metrics, group, net_series, start, end)))
        if valuation is not None:
            parts.append(Part("valuation change of bonds & notes", valuation, vsrc))
            rest = "other (bills, revisions, rounding)" if net_series == NET else "other"
            parts.append(Part(rest, round(value - net - valuation, DECIMALS), "derived"))
        else:
            parts.append(Part("valuation, bills and other", round(value - net, DECIMALS), "derived"))
        return tuple(parts), notes
    # a flow basis: the members' shares, then what happened to prices and to the stock
    members = _members(metrics, group, series, start, end)
    if members:
        parts.append(Part("net transactions by member", value, "", members))
    valuation, vsrc = flow_sum(metrics, entity, LT_VALUATION, start, end)
    if valuation is not None:
        parts.append(Part("valuation change of bonds & notes", valuation, vsrc))
        stock = _stock_change(metrics, entity, LT_HOLDINGS, start, end)
        if stock is not None:
            src = metrics.source_column(LT_HOLDINGS, entity)[
                metrics.position(start) - 1 : metrics.position(end) + 1
            ]
            names = " + ".join(sorted({SOURCE_NAMES.get(str(n), str(n)) for n in src}))
            parts.append(Part("change in bonds & notes holdings", round(stock, DECIMALS), names))
    return tuple(parts), notes


def _members(
    metrics: Metrics, group: Group | None, series: str, start: pd.Period, end: pd.Period
) -> tuple[tuple[str, float | None], ...]:
    if group is None:
        return ()
    return tuple((m, flow_sum(metrics, m, series, start, end)[0]) for m in group.members)


def _why_missing(metrics: Metrics, entity: str, start: pd.Period, end: pd.Period) -> str:
    for series in (NET, LT_NET):
        breaks = metrics.breaks_between(entity, series, start, end)
        if breaks:
            return f"net transactions n.a.: the window spans a series break ({breaks[0]})"
    return "net transactions n.a. for this entity and window"


# --- a release: candidates once, thresholds per subscriber -------------------------------------------


@dataclass(frozen=True)
class RuleCandidates:
    """One rule's candidate events at a release, strongest first, with their metrics."""

    rule: Rule
    events: tuple[Event, ...]
    metrics: np.ndarray


class Release:
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
        # sorted keys for bisect: the metric, negated where a larger metric is stronger
        self._keys: dict[str, list[float]] = {}
        self._chosen: dict[tuple[str, float, int], tuple[Event, ...]] = {}
        self._groups = {g.name for g in panel.groups}
        for rule in self.rules:
            frame = candidates(self.metrics, rule, [self.month])
            asc = rule.spec.stricter == "lower"
            frame = frame.sort_values(["metric", "entity"], ascending=[asc, True], kind="stable")
            events = tuple(
                build_event(self.metrics, rule, row, rule.threshold, str(self.month))
                for row in frame.to_dict("records")
            )
            metric = frame["metric"].to_numpy(dtype="float64")
            self.by_rule[rule.id] = RuleCandidates(rule, events, metric)
            self._keys[rule.id] = [float(x) for x in (metric if asc else -metric)]

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
            keys = self._keys[rule.id]
            if not keys:
                continue
            lower = rule.spec.stricter == "lower"
            count = bisect_right(keys, threshold if lower else -threshold)
            if count:
                fired.extend(self._pick(rule, float(threshold), count))
        if any(e.entity in self._groups for e in fired):
            fired = inhibit(fired, self.metrics.panel)
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
    return Release(panel, rules, month).fire(overrides)
