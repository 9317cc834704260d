"""Step 1 of evaluation: every place a rule would fire at its loosest threshold, vectorised.

:func:`candidates` computes, over months × entities, the *metric* a rule's threshold is compared
with (a $bn or % move, a rank, months running, years, places). Nothing looks past the month
being evaluated: windows, ranks, rosters and records at month t use only months ≤ t.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from bot.data.entities import HOLDINGS
from bot.rules import levels, moves
from bot.rules.catalogue import Rule
from bot.rules.kinds import Claim, KindName, Measure, meets_threshold
from bot.rules.metrics import Metrics
from bot.rules.selection import Frames, selection, sign

EXTRA_COLUMNS = ("level", "run", "since", "rank_from", "rank_to")


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
    A rule with ``every_month`` (the largest holders' runs, which the press counts month by
    month: "a fifth straight monthly decline") tells every month from the threshold on.
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
        if rule.spec.claim == Claim.STREAK and not rule.every_month:
            ok &= milestone(metric)
    return ok


def candidates(metrics: Metrics, rule: Rule, months: Sequence[pd.Period] | pd.PeriodIndex) -> pd.DataFrame:
    """Every (month, entity) in ``months`` where ``rule`` fires at its loosest threshold.

    Columns: period, entity, value (the figure the message quotes), metric (what the threshold is
    compared with) and the kind's extras (level, run, since, rank_from, rank_to).
    """
    wanted = metrics.index.isin(pd.PeriodIndex(list(months), freq="M"))
    frames = CANDIDATES[rule.spec.name](metrics, rule, wanted)
    sel = selection(metrics, rule, frames["value"])
    size = metrics.values(HOLDINGS).reindex(index=sel.index, columns=sel.columns)
    if rule.min_size > 0:
        sel = sel & (size >= rule.min_size).to_numpy()
    frames["move"] = _floor_move(metrics, rule, frames)
    return _stack(frames, sel, wanted)


def _floor_move(metrics: Metrics, rule: Rule, frames: Frames) -> pd.DataFrame:
    """The $bn move in the rule's direction that its floor is compared with (NaN: no floor)."""
    like = frames["value"]
    floor = rule.spec.floor
    if floor == Measure.NONE:
        return pd.DataFrame(np.nan, index=like.index, columns=like.columns)
    bn = frames["value"] if floor == Measure.RUN else metrics.window(rule.series, rule.window)
    return sign(rule.direction) * bn.reindex(columns=like.columns)


def _stack(frames: Frames, sel: pd.DataFrame, wanted: np.ndarray) -> pd.DataFrame:
    ok = frames["ok"]
    if not (sel.columns.equals(ok.columns) and sel.index.equals(ok.index)):
        sel = sel.reindex(index=ok.index, columns=ok.columns, fill_value=False)
    at = np.flatnonzero(wanted)  # the wanted months only: a release asks for one of ~600
    ok_at = ok.to_numpy()[at]
    mask = np.zeros(ok.shape, dtype=bool)
    mask[at] = np.where(pd.isna(ok_at), False, ok_at).astype(bool) & sel.to_numpy(dtype=bool)[at]
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


# each kind's candidate function (a kind's facts are in bot.rules.kinds.KINDS); it is given the
# rows the caller wants (a boolean mask over the panel's months) and may leave other rows not ok
CANDIDATES: dict[KindName, Callable[[Metrics, Rule, np.ndarray], Frames]] = {
    KindName.CHANGE: moves.change,
    KindName.OFFICIAL_SELLING: moves.change,
    KindName.RECORD: moves.record,
    KindName.LARGEST_SINCE: moves.largest_since,
    KindName.STREAK: moves.streak,
    KindName.MULTI_YEAR: levels.multi_year,
    KindName.RANK_CHANGE: levels.rank_change,
    KindName.FIRST_SINCE: moves.first_since,
}
