"""How rare a story is, on one scale for every claim: the years since something as large (a
move), as high or as low (a level), as long (a run), or the holder as high in the ranking.

A claim with nothing as far before it in its history is a record; its rarity is the length of
that history. Rarity is capped at :data:`RECORD_YEARS` so that records compare equal across
series of different lengths (Form S net flows reach back to 1977, the MFH holders to 2000), and
their $bn size then decides. A small holder needs a longer horizon before its story is news
(:func:`horizon`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RECORD_YEARS = 20.0  # rarity cap: as rare as anything in twenty years counts as a record
HORIZON_YEARS = 2.0  # the shortest horizon, for holders of :data:`HORIZON_SIZE` $bn and more
HORIZON_SIZE = 1000.0  # $bn
MAX_HORIZON = 5.0  # years: the longest horizon asked of a small holder (the press's "five-year low")
TOP_RANKS = 3  # a place this high in a holder's whole history is rare in itself ("the 2nd largest on record")
# ... unless a larger one is this recent (or shares its window): the same episode, told already
EPISODE_MONTHS = 12


def horizon(size: np.ndarray | pd.DataFrame) -> np.ndarray | pd.DataFrame:
    """The fewest years since as far for a level or a "largest since" move to be news for a
    holder of ``size`` $bn: 2 years from $1tn, growing as 1/sqrt(size) (4 years at $250bn, 5 at
    $160bn), at most 5 years: a $25bn reserve holder's five-year low is news; 5 where the size is
    unknown."""
    with np.errstate(divide="ignore", invalid="ignore"):
        years = HORIZON_YEARS * np.sqrt(HORIZON_SIZE / size)
    out = np.clip(years, HORIZON_YEARS, MAX_HORIZON)
    return out.fillna(MAX_HORIZON) if isinstance(out, pd.DataFrame) else np.nan_to_num(out, nan=MAX_HORIZON)


def as_far_back(y: np.ndarray, runs: bool, at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each row t of ``y`` (larger = further; NaN = no figure): how many months back the last
    earlier row with a value at least as far is, and that row (-1: none, a record; the months
    then count from the first figure). With ``runs``, only the unbroken run of figures ending at t
    counts (a gap in a level ends the history a claim may span). Uses rows ≤ t only. ``at``: only
    these rows are found (the others: NaN months, row -1)."""
    n = len(y)
    pos = np.arange(n)
    if runs:
        gap = np.where(np.isnan(y), pos, -1)
        start = np.maximum.accumulate(gap) + 1
    else:
        valid = ~np.isnan(y)
        first = int(np.argmax(valid)) if valid.any() else n
        start = np.full(n, first)
    rows = pos if at is None else np.asarray(at, dtype=int)
    with np.errstate(invalid="ignore"):
        as_far = (y[None, :] >= y[rows][:, None]) & (pos[None, :] < rows[:, None])
    as_far &= pos[None, :] >= start[rows][:, None]
    found = np.where(as_far, pos[None, :], -1).max(axis=1) if len(rows) and n else np.zeros(0, dtype=int)
    last = np.full(n, -1)
    months = np.full(n, np.nan)
    last[rows] = found
    months[rows] = np.where(found >= 0, rows - found, rows - start[rows])
    return np.where(np.isnan(y), np.nan, months), last


def rank_years(
    rank: np.ndarray | int, months: np.ndarray | int, recent: np.ndarray | bool = False
) -> np.ndarray:
    """A place in history as years of rarity: the 2nd or 3rd largest in ``months`` of history is
    as rare as one in history / place years (the 2nd largest monthly rise in 26 years: one in 13
    years), though the larger ones are a few years back; the history capped at
    :data:`RECORD_YEARS` as a record's is, so a 2nd place is never as rare as a record (Form S's
    49 years of flows: at most 10 years for a 2nd place). Not the 1st (a record's rarity is its
    history, or the years since the record of its own episode it extends) nor past
    :data:`TOP_RANKS`; 0 where a larger one is ``recent`` (:func:`same_episode`)."""
    rank = np.asarray(rank)
    ok = (rank >= 2) & (rank <= TOP_RANKS) & ~np.asarray(recent, dtype=bool)
    history = np.minimum(np.asarray(months, dtype="float64") / 12.0, RECORD_YEARS)  # capped as a record's
    return np.where(ok, history / np.maximum(rank, 1), 0.0)


def same_episode(months_back: np.ndarray | int, window: int) -> np.ndarray:
    """Is a larger move ``months_back`` before this one's end the same episode: within
    :data:`EPISODE_MONTHS`, or sharing the window's months (the month after a record month, a
    run that had been longer a year ago)."""
    return np.asarray(months_back) < max(window, EPISODE_MONTHS)


def rarity(years: float) -> float:
    """A claim's rarity: its years since as far, capped at :data:`RECORD_YEARS`."""
    return float(min(max(years, 0.0), RECORD_YEARS)) if np.isfinite(years) else 0.0
