"""Step 2 of evaluation: a candidate row becomes an :class:`~bot.rules.events.Event` with its rank
in history, its parts and its caveats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bot.data.ranking import magnitudes, rank_in_history, record_before
from bot.data.windows import DECIMALS, STOCKS
from bot.rules.catalogue import Rule
from bot.rules.decompose import decompose
from bot.rules.events import COMPARED_ACROSS, RANKED_ACROSS, Caveat, Event, Part, Rank
from bot.rules.kinds import Claim, Measure
from bot.rules.levels import level_since
from bot.rules.metrics import Metrics, run_lengths
from bot.rules.rarity import rank_years, rarity, same_episode
from bot.rules.selection import rule_column, sign
from bot.rules.storied import RARITY

LEVEL_YEARS = 2.0  # where a holdings move ends is a claim ("to 652.3bn, the lowest since …") from 2 years


def build_event(
    metrics: Metrics, rule: Rule, row: Mapping[str, Any], threshold: float, release: str
) -> Event:
    """The event a candidate row becomes, with its rank in history, parts and caveats."""
    t: pd.Period = row["period"]
    i = metrics.position(t)
    kind = rule.spec
    entity = str(row["entity"])
    value = float(row["value"])
    run = None if _missing(row.get("run")) else int(row["run"])
    months = run if run is not None else rule.window
    start = t - months + 1
    rank: Rank | None = None
    notes: list[Caveat] = []
    parts: tuple[Part, ...] = ()
    if kind.ranks == Measure.WINDOW:
        rank = _window_rank(metrics, rule, entity, i)
    elif kind.ranks == Measure.RUN and run is not None:
        rank = _run_rank(metrics, rule, entity, i, run)
    if rank is not None:
        notes += [Caveat(RANKED_ACROSS, b) for b in _ranked_across(metrics, rule, entity, rank, start, t)]
    since_month = None if _missing(row.get("since")) else str(row["since"])
    if kind.claim == Claim.LEVEL:
        found = level_since(metrics, rule.series, entity, i, rule.direction)
        notes += [Caveat(COMPARED_ACROSS, b) for b in found.breaks]
    bn = value  # the move in $bn (a percentage rule's parts and size are in $bn too)
    if kind.floor == Measure.WINDOW and rule.unit == "pct":
        bn = float(metrics.window_column(rule.series, rule.window, entity)[i])
    if kind.floor != Measure.NONE:
        parts, part_notes = decompose(metrics, entity, rule.series, start, t, bn)
        notes += part_notes
        size = bn
    else:  # a level or a rank: the story's size is how far holdings moved (3 months for a low/high)
        span = kind.size_months or rule.window
        size = float(metrics.window_column(rule.series, span, entity)[i])
    level_now: float | None = None
    if rule.series in STOCKS:
        lv = metrics.column(rule.series, entity)[i]
        level_now = None if np.isnan(lv) else float(lv)
    passed = _passed(metrics, rule, entity, t) if kind.claim == Claim.RANK else ()
    rare, as_far = RARITY[kind.claim](metrics, rule, entity, i, run, float(row["metric"]))
    if rank is not None and kind.claim in (Claim.MOVE, Claim.STREAK):  # a top-3 place is rare too
        # a larger one of the same episode (rarity.same_episode) makes no place rare
        recent = False
        if as_far is not None:
            back = (t - pd.Period(as_far, "M")).n  # months from the larger one to this one's end
            # a run: from the larger run's end to this run's start (one month between two runs of
            # selling is the same selling)
            recent = bool(same_episode(back - run + 1, 1) if run else same_episode(back, rule.window))
        history = (pd.Period(rank.until, "M") - pd.Period(rank.since, "M")).n + 1
        rare = rarity(max(rare, float(rank_years(rank.rank, history, recent))))
    at_level = None  # where a holdings move ends, when that level is a claim of its own
    if kind.claim == Claim.MOVE and rule.series in STOCKS and level_now is not None:
        found = level_since(metrics, rule.series, entity, i, "decline" if value < 0 else "increase")
        if found.years >= LEVEL_YEARS:
            at_level = (round(found.years, 2), found.since)
            notes += [Caveat(COMPARED_ACROSS, b) for b in found.breaks]
    return Event(
        release=release,
        rule=rule.id,
        kind=str(kind.name),
        severity=rule.severity,
        entity=entity,
        basis=rule.series,
        window=months,
        start=str(start),
        end=str(t),
        value=round(value, DECIMALS),
        metric=float(row["metric"]),
        threshold=float(threshold),
        unit=rule.unit,  # "bn" but for a % change rule
        direction=rule.direction,
        rank=rank,
        parts=parts,
        level=level_now,
        streak=run,
        extreme_since=since_month if kind.claim == Claim.LEVEL else as_far,
        rank_from=None if _missing(row.get("rank_from")) else int(row["rank_from"]),
        rank_to=None if _missing(row.get("rank_to")) else int(row["rank_to"]),
        passed=passed,
        notes=tuple(notes),
        size=round(size, DECIMALS) if np.isfinite(size) else 0.0,
        rarity=round(rare, 2),
        level_since=at_level,
        calendar_year=rule.calendar_year,
    )


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _ranked_across(
    metrics: Metrics, rule: Rule, entity: str, rank: Rank, start: pd.Period, t: pd.Period
) -> list[str]:
    """The non-comparable breaks a rank compares across. A change in holdings is chained like with
    like across a level break, so only its own window counts; a net flow is the figure of one
    source each month (Form S until Jan 2023, SLT Table 3 after), so a record on Table 3 ranked
    against Form S history says so even when its own months are all Table 3 (review 18)."""
    after = start - 1 if rule.series in STOCKS else min(start - 1, pd.Period(rank.since, "M"))
    return metrics.breaks_between(entity, rule.series, after, t)


def _window_rank(metrics: Metrics, rule: Rule, entity: str, i: int) -> Rank | None:
    """How the rule's window at row i ranks among same-direction windows at rows ≤ i."""
    values = rule_column(metrics, rule, entity)
    s = sign(rule.direction)
    upto = values[: i + 1]
    valid = ~np.isnan(upto)
    if not valid.any() or not s * upto[i] > 0:
        return None
    same = magnitudes(upto, s)
    ranks, counts = rank_in_history(same, [i])
    rank, of, prev = int(ranks[0]), int(counts[0]), record_before(same, i)
    first = int(np.argmax(valid))
    previous = (float(values[prev]), metrics.labels[prev]) if prev is not None else None
    return Rank(rank, of, metrics.labels[first], metrics.labels[i], previous)


def _run_rank(metrics: Metrics, rule: Rule, entity: str, i: int, length: int) -> Rank | None:
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
    lengths = run_lengths(before)[ends] if len(ends) else np.zeros(0, dtype=int)
    longer = int((lengths > length).sum())
    best = int(np.argmax(lengths)) if len(lengths) else None
    first = int(np.argmax(valid))
    return Rank(
        longer + 1,
        len(lengths) + 1,
        metrics.labels[first],
        metrics.labels[i],
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
