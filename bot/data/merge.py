"""Which file's figure a cell keeps when several files print it: the precedence of files (the
newest publication, the Major Foreign Holders family within rounding), and the cells where
another file disagrees beyond rounding (conflicts; suspect when both files are of one release)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.data.sources import MN_FILES, family_rank, tie_rank
from bot.data.stack import Stack, factorize

# Precedence within a cell: the newest publication wins. A $mn figure and its $bn rounding are
# not a revision, though, so where files agree within rounding the Major Foreign Holders family
# (the figures the Treasury headlines, $bn to one decimal) is kept, and a $mn file only fills
# cells the MFH family lacks (countries off the MFH roster, 2020 onwards). Ties (same family,
# same publication) fall back to the catalogue's order (bot.data.sources.SOURCES).
EXACT_TOLERANCE = 1e-9  # two files in the same unit print the same figure exactly, or it is a revision
ROUNDING_TOLERANCE = 0.05 + 1e-9  # a $mn figure vs its $bn rounding to 0.1
# Files published together, in one release, that print the same cells: where they disagree
# beyond rounding (ROUNDING_TOLERANCE across units, exact within one) one of them is wrong, not
# revised; those cells are suspect (Panel.suspect) and the rules fire nothing on them.
SAME_RELEASE = (
    frozenset({"slt_table5.txt", "slt_table3.txt"}),
    frozenset({"mfhhis01.txt", "mfhhis01.csv"}),
)


def published(vintage: str) -> str:
    """A sortable publication date for a vintage.

    A footer stamp (``2026-05-18``) is used as printed. A data month (``2026-04``) is published
    about the 15th of the month two later (DESIGN §4: a release carries data for month M−2),
    so it sorts as the first day of that month: after any stamp of the month before.
    """
    if len(vintage) == 10:
        return vintage
    month = pd.Period(vintage, "M") + 2
    return f"{month}-01"


def precedence(name: str, vintage: str) -> tuple[int, str, int]:
    """Sort key of a file for a contested cell: smaller wins."""
    inverted = "".join(chr(ord("9") - ord(c) + ord("0")) if c.isdigit() else c for c in published(vintage))
    return family_rank(name), inverted, tie_rank(name)


def suspect_cells(conflicts: pd.DataFrame) -> pd.DataFrame:
    """The conflicts between two files of the same release (see SAME_RELEASE)."""
    if conflicts.empty:
        return conflicts
    pairs = [frozenset({a, b}) for a, b in zip(conflicts["source_kept"], conflicts["source_other"])]
    same = np.array([p in SAME_RELEASE for p in pairs], dtype=bool)
    same &= (conflicts["vintage_kept"] == conflicts["vintage_other"]).to_numpy()
    return conflicts[same].reset_index(drop=True)


def tolerance(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Two figures agree if equal in the same unit, or within the rounding of a $bn figure."""
    return _tolerance(a.isin(MN_FILES).to_numpy(), b.isin(MN_FILES).to_numpy())


def _tolerance(a_in_mn: np.ndarray, b_in_mn: np.ndarray) -> np.ndarray:
    return np.where(a_in_mn == b_in_mn, EXACT_TOLERANCE, ROUNDING_TOLERANCE)


def conflicts_of(winners: pd.DataFrame, losers: pd.DataFrame) -> pd.DataFrame:
    """Cells where another file disagrees with the kept value beyond rounding."""
    cols = ["entity", "series", "period"]
    m = losers[[*cols, "value", "source", "vintage"]].merge(
        winners[[*cols, "value", "source", "vintage"]], on=cols, suffixes=("_other", "_kept")
    )
    m["difference"] = m["value_other"] - m["value_kept"]
    tol = tolerance(m["source_other"], m["source_kept"])
    return m[m["difference"].abs() > tol].reset_index(drop=True)


def choose(stack: Stack, ranks: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of every row with a value: the positions kept (one per cell, sorted), the kept ones some
    other row also prints (contested), and the others (lost); see the precedence above.
    ``ranks``: each frame's place in :func:`precedence` order."""
    values = stack.column("value").astype("float64", copy=False)
    valid = np.flatnonzero(~np.isnan(values))
    values = values[valid]
    cell = _cells(stack, valid)
    vintage, pubs = factorize(stack.column("vintage", valid))
    later = pd.factorize(np.array([published(v) for v in pubs]), sort=True)[0]
    pub_rank = later[vintage].astype(np.int32)  # later publication → larger number
    del vintage
    # Preferred: the MFH family, newest first (see sources.family_rank) ...
    rank = np.repeat(np.asarray(ranks, dtype=np.int32), np.diff(stack.starts))[valid]
    preferred = _first_of_each(cell, rank)
    del rank
    # ... unless a newer publication differs beyond rounding: then the newer file wins.
    newest = _first_of_each(cell, -pub_rank)
    source, names = factorize(stack.column("source", valid))
    in_mn = np.isin(names, list(MN_FILES))[source]  # a $mn file's figure: compared within rounding
    del source
    differs = np.abs(values[newest] - values[preferred]) > _tolerance(in_mn[newest], in_mn[preferred])
    del in_mn, values
    kept = np.sort(np.where(differs & (pub_rank[newest] > pub_rank[preferred]), newest, preferred))
    is_lost = np.ones(len(valid), dtype=bool)
    is_lost[kept] = False
    # only the cells some other file also prints are compared (a merge of every row was 70 MB)
    contested = kept[np.isin(cell[kept], cell[is_lost])]
    return valid[kept], valid[contested], valid[is_lost]


def _cells(stack: Stack, at: np.ndarray) -> np.ndarray:
    """One int64 per (entity, series, month) of the rows at ``at``: equal codes, same cell
    (computed in place: each temporary is one more 4 MB array)."""
    cell = factorize(stack.column("entity", at))[0].astype(np.int64, copy=False)
    series = factorize(stack.column("series", at))[0]
    cell *= series.max() + 1
    cell += series
    del series
    month = stack.column("period", at)
    month -= month.min()
    cell *= month.max() + 1
    cell += month
    return cell


def _first_of_each(cell: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Per distinct cell, the position of its row with the smallest ``key`` (ties: the first)."""
    order = np.lexsort((key, cell))
    ordered = cell[order]
    return order[np.r_[True, ordered[1:] != ordered[:-1]]]
