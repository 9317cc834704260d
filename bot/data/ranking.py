"""Ranking in history: the one sign convention and the one rank, for the summary and the rules.

A value below zero is a decline (direction −1); zero or above is an increase (+1): a zero change
counts with the increases. (The release summary's "… largest increase of N" has always counted
it so, and the real output depends on it: Belgium's 3-month increases number 159 with the five
zero windows, 154 without; for declines the rules' and the summary's counts never differed.)
A value's rank is 1 + how many values of the same direction at earlier-or-same positions are
larger in magnitude (ties share a rank), so no rank depends on a later value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class WindowRank:
    """How an entity's newest window ranks among all its windows of the same direction."""

    rank: int  # 1 = the largest
    of: int  # windows of that direction so far
    direction: str  # "decline" or "increase"
    since: str  # YYYY-MM of the first window
    windows: int  # windows of either direction


def magnitudes(values: np.ndarray, direction: int) -> np.ndarray:
    """``|value|`` where a value is in ``direction`` (−1: below zero; +1: zero or above), NaN
    elsewhere (NaN, or the other direction)."""
    x = direction * np.asarray(values, dtype="float64")
    with np.errstate(invalid="ignore"):
        return np.where((x >= 0) if direction > 0 else (x > 0), x, np.nan)


def rank_in_history(mags: np.ndarray, at: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position t in ``at``: the rank of ``mags[t]`` among the non-NaN ``mags[:t + 1]``
    (1 = largest; 0 where mags[t] is NaN) and how many non-NaN values there are up to t."""
    x = np.asarray(mags, dtype="float64")
    at = np.asarray(at, dtype=int)
    valid = ~np.isnan(x)
    of = np.cumsum(valid)[at] if len(x) else np.zeros(len(at), dtype=int)
    with np.errstate(invalid="ignore"):
        beats = x[None, :] > x[at][:, None]  # [t, s]: value at s larger than at t (NaN → False)
    beats &= np.arange(len(x))[None, :] <= at[:, None]  # s ≤ t only
    rank = np.where(valid[at], beats.sum(axis=1) + 1, 0)
    return rank, of


def record_before(mags: np.ndarray, i: int) -> int | None:
    """Position of the largest non-NaN value before ``i`` (the first of equals), None if there is none."""
    earlier = np.asarray(mags[:i], dtype="float64")
    valid = ~np.isnan(earlier)
    if not valid.any():
        return None
    return int(np.argmax(np.where(valid, earlier, -np.inf)))
