"""The frame every Treasury parser returns: one row per entity, series and month (:data:`COLUMNS`),
from a wide table (:func:`tidy`) or row by row (:class:`Rows`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# Every parser returns a DataFrame with exactly these columns.
COLUMNS = ["entity", "series", "period", "value", "source", "vintage"]


def tidy(
    df: pd.DataFrame,
    entity: pd.Series,
    value_columns: dict[str, str],
    source: str,
    vintage: str,
    scale: float = 1.0,
) -> pd.DataFrame:
    """Wide typed frame → the standard tidy columns, one row per entity, series and month."""
    k = len(value_columns)
    # a column at a time, each a typed Series: one temporary column at most (a dict of arrays
    # was copied whole, and a bare object array is scanned for dates: Form S's parse peaked at
    # three times what it keeps; bench/memory.py)
    out = pd.DataFrame(index=pd.RangeIndex(len(df) * k))
    out["entity"] = _column(np.tile(entity.to_numpy(), k), out.index)
    # an object array: every row refers to the same few str objects (a str array would become
    # one new Python string per row, 6 MB a panel)
    out["series"] = _column(
        np.repeat(np.array(list(value_columns.values()), dtype=object), len(df)), out.index
    )
    ordinals = np.tile(df["period"].array.asi8, k)  # type: ignore[union-attr]
    out["period"] = pd.PeriodIndex.from_ordinals(ordinals, freq="M")
    del ordinals
    out["value"] = _column(
        np.concatenate([df[c].to_numpy(dtype="float64") / scale for c in value_columns]), out.index
    )
    out["source"] = source
    out["vintage"] = vintage
    return _in_order(out)


def _column(values: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(values, index=index, dtype=values.dtype, copy=False)


def _in_order(df: pd.DataFrame) -> pd.DataFrame:
    """``df``, built with :data:`COLUMNS` in order, as it is: ``df[COLUMNS]`` would copy it all
    (Form S: a 14 MB copy, half of the parse's peak; bench/memory.py)."""
    if list(df.columns) != COLUMNS:
        raise AssertionError(f"columns {list(df.columns)}, not {COLUMNS}")
    return df


@dataclass
class Rows:
    """Accumulates tidy rows column-wise (fast) and turns them into the standard frame."""

    source: str
    vintage: str

    def __post_init__(self) -> None:
        self.entity: list[str] = []
        self.series: list[str] = []
        self.period: list[int] = []  # Period ordinals: boxing 100k Periods is slow
        self.value: list[float] = []

    def add(self, entity: str, series: str, period: pd.Period, value: float) -> None:
        self.entity.append(entity)
        self.series.append(series)
        self.period.append(period.ordinal)
        self.value.append(value)

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(
            {
                "entity": self.entity,
                "series": self.series,
                "period": pd.PeriodIndex.from_ordinals(self.period, freq="M"),
                "value": pd.array(self.value, dtype="float64"),
            }
        )
        df["source"] = self.source
        df["vintage"] = self.vintage
        return _in_order(df)
