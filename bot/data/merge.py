"""Which file's figure a cell keeps when several files print it: the precedence of files (the
newest publication, the Major Foreign Holders family within rounding), and the cells where
another file disagrees beyond rounding (conflicts; suspect when both files are of one release)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.data.sources import MN_FILES, family_rank, tie_rank

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


def cell_codes(rows: pd.DataFrame) -> np.ndarray:
    """One int64 per (entity, series, month): equal codes are the same cell."""
    entity = pd.factorize(rows["entity"])[0].astype(np.int64)
    series = pd.factorize(rows["series"])[0].astype(np.int64)
    month = rows["period"].array.asi8  # type: ignore[union-attr]
    month = month - month.min()
    return (entity * (series.max() + 1) + series) * (month.max() + 1) + month


def tolerance(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Two figures agree if equal in the same unit, or within the rounding of a $bn figure."""
    same_unit = a.isin(MN_FILES).to_numpy() == b.isin(MN_FILES).to_numpy()
    return np.where(same_unit, EXACT_TOLERANCE, ROUNDING_TOLERANCE)


def conflicts_of(winners: pd.DataFrame, losers: pd.DataFrame) -> pd.DataFrame:
    """Cells where another file disagrees with the kept value beyond rounding."""
    cols = ["entity", "series", "period"]
    m = losers[[*cols, "value", "source", "vintage"]].merge(
        winners[[*cols, "value", "source", "vintage"]], on=cols, suffixes=("_other", "_kept")
    )
    m["difference"] = m["value_other"] - m["value_kept"]
    tol = tolerance(m["source_other"], m["source_kept"])
    return m[m["difference"].abs() > tol].reset_index(drop=True)
