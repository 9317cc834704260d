"""Windows over a panel's series: the change over N months of a stock, the sum of N months of a
flow, respecting series breaks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bot.data.entities import ASSET_SERIES, HOLDINGS, LT_HOLDINGS, ST_HOLDINGS
from bot.data.parse import Break

# levels: a window is a change (Treasury holdings, and every asset's holdings of SLT Table 1)
STOCKS = tuple(
    dict.fromkeys(
        [
            HOLDINGS,
            LT_HOLDINGS,
            ST_HOLDINGS,
            *(k["holdings"] for k in ASSET_SERIES.values() if "holdings" in k),
        ]
    )
)
# flows (net transactions, valuation change): a window is a sum
DECIMALS = 6  # windows are rounded to 1e-6 $bn ($1,000), far below the files' $1mn precision


@dataclass(frozen=True)
class AppliedBreak:
    """A break that applies to one series, for values that come from ``sources``."""

    brk: Break
    series: tuple[str, ...]
    sources: frozenset[str]


def compute_windows(
    values: pd.DataFrame,
    prior: pd.DataFrame | None,
    sources: pd.DataFrame,
    breaks: Iterable[AppliedBreak],
    series: str,
    months: int,
) -> pd.DataFrame:
    """Change over ``months`` (stocks) or sum over ``months`` (flows) of ``values`` (months ×
    entities), by window end, unrounded; see :meth:`bot.data.panel.Panel.windows`. ``prior`` is the
    old series' value at a break month (stocks), ``sources`` the file of each cell."""
    if values.empty:
        return values
    v = values.to_numpy()
    stock = series in STOCKS
    steps = v.copy()
    if stock:
        steps[0] = np.nan
        steps[1:] = v[1:] - v[:-1]
    unknown = np.zeros(v.shape, dtype=bool)
    old = prior.reindex(columns=values.columns).to_numpy() if stock and prior is not None else None
    cells = sources.reindex(columns=values.columns).to_numpy()
    for applied in breaks:
        p = applied.brk.period
        if series not in applied.series or p not in values.index or p == values.index[0]:
            continue
        i = values.index.get_loc(p)
        hit = np.array([uses_source(cell, applied.sources) for cell in cells[i]], dtype=bool)
        if not hit.any():
            continue
        if stock and applied.brk.comparable and old is not None:
            steps[i, hit] = old[i, hit] - v[i - 1, hit]  # NaN where no old-series value
        elif stock:
            steps[i, hit] = np.nan
        else:
            unknown[i, hit] = True
    total = rolling_sum(steps, months)
    if months > 1 and unknown.any():
        # a flow window [t-k+1, t] crosses a break b when t-k+1 < b <= t
        crossing = rolling_sum(unknown.astype("float64"), months - 1, partial=True) > 0
        total[crossing] = np.nan
    return pd.DataFrame(total, index=values.index, columns=values.columns)


def rolling_sum(a: np.ndarray, k: int, partial: bool = False) -> np.ndarray:
    """Sum over the last ``k`` rows at each row; NaN unless all k are present (``partial``: the
    rows that exist, for the first k − 1 rows)."""
    n = a.shape[0]
    out = np.full(a.shape, np.nan)
    if n >= k:
        out[k - 1 :] = np.lib.stride_tricks.sliding_window_view(a, k, axis=0).sum(axis=-1)
    if partial:
        for i in range(min(k - 1, n)):
            out[i] = a[: i + 1].sum(axis=0)
    return out


def uses_source(cell: object, names: frozenset[str]) -> bool:
    """Does a cell's source (``a`` or ``a + b`` for a group) include one of ``names``?"""
    return isinstance(cell, str) and bool(names & set(cell.split(" + ")))
