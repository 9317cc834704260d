"""Wide, vectorised views of a panel: every entity's series and windows as one months × entities frame.

:class:`Metrics` computes each view once per panel and shares it between rules, subscribers and
the backtest. Its windows are the panel's own (:meth:`bot.panel.Panel.windows`, break-aware);
ranks are *as of* each month, so a value at month t is only ever compared with values of
months ≤ t (no look-ahead).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import numpy as np
import pandas as pd

from bot.data.entities import FOREIGN_OFFICIAL, GRAND_TOTAL, HOLDINGS, is_country
from bot.data.panel import Panel
from bot.data.sources import MFH_FAMILY
from bot.data.windows import uses_source

ROSTER_RANK = 5  # the roster's 5th-smallest holder at the month is the yardstick ...
ROSTER_SHARE = 0.5  # ... and a holder below half of it was not on the roster then
# the largest holders, whose every new extreme, turn and short run the press reports: these
# aggregates, and the TOP_HOLDERS largest countries by holdings at the month
ALWAYS_NEWS = (GRAND_TOTAL, FOREIGN_OFFICIAL)
TOP_HOLDERS = 3


class Metrics:
    """Months × entities frames of one panel, computed on first use and kept."""

    def __init__(self, panel: Panel):
        self.panel = panel
        self.index = panel.months
        self._memo: dict[tuple[object, ...], pd.DataFrame] = {}
        self._cols: dict[tuple[str, ...], object] = {}

    def trim(self) -> None:
        """Forget the derived frames and columns, and the panel's (rebuilt on their next use):
        once a release's candidates are built, /backtest and /set rebuild what they read."""
        self._memo.clear()
        self._cols.clear()
        self.panel.trim()

    def memo(self, key: tuple[object, ...], make: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        """A derived frame computed once per panel (e.g. a window as a percent of its start)."""
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def values(self, series: str) -> pd.DataFrame:
        """The series as printed ($bn), months × entities; NaN where an entity has no figure."""
        return self.panel.wide(series)

    def sources(self, series: str) -> pd.DataFrame:
        """The file each cell comes from (``a + b`` for a group summed from several files)."""
        return self.panel.wide(series, "source")

    def window(self, series: str, months: int) -> pd.DataFrame:
        """Change (stocks) or sum (flows) over ``months``, by window end (:meth:`Panel.windows`)."""
        return self.panel.windows(series, months)

    # --- who is who ----------------------------------------------------------------------------------
    @cached_property
    def countries(self) -> list[str]:
        """Every single country in the panel (no totals, residuals or groups)."""
        return sorted(e for e in self.panel.data["entity"].unique() if is_country(e, self.panel.groups))

    @cached_property
    def major(self) -> pd.DataFrame:
        """True where a country was on the Major Foreign Holders roster as published for that month.

        Today's MFH files back-fill a newcomer's whole year (El Salvador at 1.1bn in 2025-01,
        Bahamas at 17bn in 2024-01, France at 0.0 in 2008-05). A country counts as major at t
        only if it is in an MFH file at t and holds at least :data:`ROSTER_SHARE` of the
        :data:`ROSTER_RANK`-th smallest MFH holder at t (on a roster of at least twice that many):
        month-t figures only, no look-ahead.
        """
        src = self.sources(HOLDINGS)
        cols = [c for c in src.columns if c in set(self.countries)]
        listed = src[cols].isin(MFH_FAMILY)
        if not cols:
            return listed
        level = self.values(HOLDINGS)[cols].where(listed)
        ordered = np.sort(level.to_numpy(), axis=1)  # NaN last
        full = listed.sum(axis=1).to_numpy() >= 2 * ROSTER_RANK  # a roster, not a hand-picked few
        ref = np.where(full, ordered[:, min(ROSTER_RANK, len(cols)) - 1], -np.inf)
        with np.errstate(invalid="ignore"):
            big = level.to_numpy() >= ROSTER_SHARE * ref[:, None]
        return listed & pd.DataFrame(big, index=level.index, columns=cols)

    @cached_property
    def largest(self) -> pd.DataFrame:
        """True where an entity is one of the largest holders at the month: an aggregate of
        :data:`ALWAYS_NEWS`, or among the :data:`TOP_HOLDERS` largest countries by holdings then
        (month-t figures only)."""
        held = self.values(HOLDINGS)
        countries = [c for c in held.columns if c in set(self.countries)]
        place = held[countries].rank(axis=1, ascending=False, method="min").reindex(columns=held.columns)
        out = place <= TOP_HOLDERS
        for c in ALWAYS_NEWS:
            if c in out.columns:
                out[c] = held[c].notna()
        return out

    @cached_property
    def break_rows(self) -> list[tuple[int, frozenset[str], bool]]:
        """Holdings series breaks as (row, sources, comparable): where a level changes series."""
        out = []
        for applied in self.panel.breaks:
            p = applied.brk.period
            if HOLDINGS in applied.series and p in self.index and p != self.index[0]:
                out.append((self.position(p), applied.sources, applied.brk.comparable))
        return out

    def breaks_between(self, entity: str, series: str, after: pd.Period, until: pd.Period) -> list[str]:
        """Non-comparable series breaks in (after, until] that touch this entity's series."""
        out: list[str] = []
        if entity not in self.sources(series).columns:
            return out
        src = self.source_column(series, entity)
        lo, hi = self.position(after), self.position(until)
        for i, names, label in self._hard_breaks(series):
            if lo < i <= hi and uses_source(src[i], names) and label not in out:
                out.append(label)
        return out

    def _hard_breaks(self, series: str) -> list[tuple[int, frozenset[str], str]]:
        key = ("hard-breaks", series)
        if key not in self._cols:
            found = []
            for applied in self.panel.breaks:
                p = applied.brk.period
                if series in applied.series and not applied.brk.comparable and p in self.index:
                    label = f"{applied.brk.label} ({p.strftime('%b %Y')})"
                    found.append((self.position(p), applied.sources, label))
            self._cols[key] = found  # type: ignore[assignment]
        return self._cols[key]  # type: ignore[return-value]

    # --- single columns as arrays, for building events quickly ---------------------------------
    def position(self, period: pd.Period) -> int:
        """Row of a month in :attr:`index` (may be out of range: callers check)."""
        return period.ordinal - self.index[0].ordinal

    def column(self, series: str, entity: str) -> np.ndarray:
        """An entity's values as an array over :attr:`index` (all NaN if it has none)."""
        key = ("values", series, entity)
        if key not in self._cols:
            frame = self.values(series)
            self._cols[key] = (
                frame[entity].to_numpy() if entity in frame.columns else np.full(len(self.index), np.nan)
            )
        return self._cols[key]  # type: ignore[return-value]

    def window_column(self, series: str, months: int, entity: str) -> np.ndarray:
        """An entity's windows (see :meth:`window`) as an array over :attr:`index`."""
        key = ("window", series, str(months), entity)
        if key not in self._cols:
            frame = self.window(series, months)
            self._cols[key] = (
                frame[entity].to_numpy() if entity in frame.columns else np.full(len(self.index), np.nan)
            )
        return self._cols[key]  # type: ignore[return-value]

    def source_column(self, series: str, entity: str) -> np.ndarray:
        key = ("sources", series, entity)
        if key not in self._cols:
            frame = self.sources(series)
            self._cols[key] = (
                frame[entity].to_numpy() if entity in frame.columns else np.full(len(self.index), None)
            )
        return self._cols[key]  # type: ignore[return-value]

    @cached_property
    def labels(self) -> list[str]:
        """``YYYY-MM`` of every row of :attr:`index`."""
        return [str(p) for p in self.index]


def run_lengths(moving: np.ndarray) -> np.ndarray:
    """How many rows in a row, down to and including each row, are True (0 where False); per column."""
    count = np.cumsum(moving, axis=0)
    reset = np.maximum.accumulate(np.where(~moving, count, 0), axis=0) if len(moving) else count
    return count - reset
