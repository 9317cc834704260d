"""One tidy, vintage-aware panel built from every parsed Treasury file.

Rows are (entity, series, period) → value in $bn, with the file it came from and that file's
vintage. Where several files hold the same cell, precedence decides (see :func:`bot.data.merge.precedence`)
and every disagreement beyond rounding is kept in ``Panel.conflicts``. Groups are sums of their
members, only for months where every member has a value. Changes over N months are derived
on demand (:meth:`Panel.window`), respecting series breaks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bot.data.crosscheck import SUSPECT_COLUMNS, check_table1
from bot.data.entities import (
    AGENCY_NET,
    CORP_NET,
    DEFAULT_GROUPS,
    EQUITY_NET,
    GRAND_TOTAL,
    HOLDINGS,
    LT_NET,
    TOTAL_LT_NET,
    Group,
    normalize_label,
)
from bot.data.merge import choose, conflicts_of, precedence, suspect_cells
from bot.data.parse import Break, ParsedFile
from bot.data.parse.frame import COLUMNS
from bot.data.ranking import WindowRank, magnitudes, rank_in_history
from bot.data.sources import FORM_S, SLT_TABLE1, SLT_TABLE3
from bot.data.stack import Stack, factorize, positions_by
from bot.data.windows import DECIMALS, STOCKS, AppliedBreak, compute_windows

FORM_S_TO_SLT = Break(pd.Period("2023-02", "M"), "Form S → SLT Table 3 net transactions", comparable=False)
FORM_S_TO_SLT1 = Break(FORM_S_TO_SLT.period, "Form S → SLT Table 1 net transactions", comparable=False)
# Net flows come from Form S until it froze (2023-01) and from the SLT tables after: each SLT
# table, the series it continues, and the break where it takes over. Where both print a month
# before the break (none do today: the SLT net cells are n.a. until 2023-01), Form S's is kept.
FLOW_HANDOVERS = (
    (SLT_TABLE3, FORM_S_TO_SLT, (LT_NET,)),
    (SLT_TABLE1, FORM_S_TO_SLT1, (TOTAL_LT_NET, AGENCY_NET, CORP_NET, EQUITY_NET)),
)


@dataclass
class Panel:
    """The merged history; build it with :func:`build_panel`."""

    data: pd.DataFrame
    breaks: list[AppliedBreak] = field(default_factory=list)
    conflicts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())
    warnings: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # file name → vintage
    groups: tuple[Group, ...] = ()
    # cells two files of one release print differently (see SAME_RELEASE): entity, series,
    # period, value_kept, source_kept, value_other, source_other
    suspect: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())

    def suspect_entities(self) -> frozenset[str]:
        """Entities with a suspect cell, and every group with such a member."""
        if self.suspect.empty:
            return frozenset()
        names = set(self.suspect["entity"])
        wanted = {normalize_label(n) for n in names}
        names |= {g.name for g in self.groups if wanted & {normalize_label(m) for m in g.members}}
        return frozenset(names)

    def __post_init__(self) -> None:
        # row positions, not frames: split frames were two more copies of the data (~12 MB a panel)
        entity, series = self.data["entity"].to_numpy(), self.data["series"].to_numpy()
        self._index: dict[tuple[str, str], np.ndarray] = positions_by(entity, series)  # type: ignore[assignment]
        self._by_series: dict[str, np.ndarray] = {k[0]: v for k, v in positions_by(series).items()}  # type: ignore[misc]
        if len(self.data):
            lo, hi = self.data["period"].min(), self.data["period"].max()
            self.months = pd.period_range(lo, hi, freq="M")
        else:
            self.months = pd.PeriodIndex([], freq="M")
        self._wide: dict[tuple[str, str], pd.DataFrame] = {}
        self._windows: dict[tuple[str, int], pd.DataFrame] = {}

    def trim(self) -> None:
        """Forget the wide frames and windows built so far (rebuilt on their next use): a panel a
        release keeps for its view holds what it reads, not every view the rules took of it."""
        self._wide.clear()
        self._windows.clear()

    def has(self, entity: str, series: str = HOLDINGS) -> bool:
        return (entity, series) in self._index

    def rows(self, entity: str, series: str = HOLDINGS) -> pd.DataFrame:
        """The rows of one entity's series, oldest first, indexed by period."""
        if (entity, series) not in self._index:
            return self.data.iloc[0:0].set_index("period")
        return self.data.take(self._index[(entity, series)]).set_index("period").sort_index()

    def series(self, entity: str, series: str = HOLDINGS) -> pd.Series:
        """Values of one entity's series, oldest first, indexed by period."""
        return self.rows(entity, series)["value"].rename(entity)

    def latest(self, entity: str = GRAND_TOTAL, series: str = HOLDINGS) -> pd.Period:
        """The newest month of a series (by default the Grand Total's holdings)."""
        return self.series(entity, series).index.max()

    def entities(self, series: str = HOLDINGS) -> list[str]:
        return sorted({e for e, s in self._index if s == series})

    def wide(self, series: str, column: str = "value") -> pd.DataFrame:
        """A series as months (all of :attr:`months`) × entities; NaN (None) where there is no cell.

        ``column="source"`` gives the file each cell comes from (``a + b`` for a group).
        """
        key = (series, column)
        if key not in self._wide:
            self._wide[key] = self._pivot(self._by_series.get(series), column)
        return self._wide[key]

    def _pivot(self, at: np.ndarray | None, column: str) -> pd.DataFrame:
        """The rows at ``at`` placed as months × entities (entities sorted, as ``pivot`` gives
        them); placed with numpy, a tenth of ``DataFrame.pivot``'s time (bench/rules.py)."""
        numeric = column == "value"
        if at is None or len(at) == 0:
            return pd.DataFrame(index=self.months, dtype="float64" if numeric else "object")
        codes, names = factorize(self.data["entity"].to_numpy()[at], sort=True)
        cells = (self.data["period"].array.asi8[at] - self.months[0].ordinal) * len(names) + codes
        if np.bincount(cells).max() > 1:
            raise ValueError(f"the panel holds a cell twice in {self.data['series'].iloc[at[0]]}")
        grid = np.full(len(self.months) * len(names), np.nan, dtype="float64" if numeric else object)
        grid[cells] = self.data[column].to_numpy()[at]
        grid = grid.reshape(len(self.months), len(names))
        return pd.DataFrame(grid, index=self.months, columns=pd.Index(names))

    def windows(self, series: str, months: int) -> pd.DataFrame:
        """Change over ``months`` (stocks) or sum over ``months`` (flows) for every entity, by
        window end, as months × entities; rounded to 1e-6 $bn ($1,000), far below the files'
        precision, so a threshold compares with the printed figures, not float noise.

        A window is NaN when a month inside it is missing or it crosses a series break that has
        no comparison value. At a break with a comparison value (mfhhis01's repeated month)
        the change is chained on matching columns: old series into the break month, new
        series after it. Computed once per series and window, then kept.
        """
        key = (series, months)
        if key not in self._windows:
            values = self.wide(series)
            prior = self.wide(f"{series}_prior") if series in STOCKS else None
            frame = compute_windows(values, prior, self.wide(series, "source"), self.breaks, series, months)
            self._windows[key] = frame.round(DECIMALS)
        return self._windows[key]

    def window(self, entity: str, series: str, months: int) -> pd.Series:
        """One entity's :meth:`windows`, over the months from its first to its last figure."""
        rows = self.rows(entity, series)
        frame = self.windows(series, months)
        if rows.empty or entity not in frame.columns:
            return pd.Series(dtype="float64", name=entity)
        return frame.loc[rows.index.min() : rows.index.max(), entity].rename(entity)

    def rank(self, entity: str, series: str, months: int) -> WindowRank | None:
        """How the newest window ranks against all earlier ones of the same direction
        (:mod:`bot.data.ranking`); None when there is no window, or the newest is zero."""
        w = self.window(entity, series, months).dropna()
        if w.empty:
            return None
        direction = -1 if w.iloc[-1] < 0 else 1
        rank, of = rank_in_history(magnitudes(w.to_numpy(), direction), [len(w) - 1])
        if not rank[0]:
            return None
        return WindowRank(
            rank=int(rank[0]),
            of=int(of[0]),
            direction="decline" if direction < 0 else "increase",
            since=str(w.index.min()),
            windows=len(w),
        )


def build_panel(files: Iterable[ParsedFile], groups: Iterable[Group] = DEFAULT_GROUPS) -> Panel:
    """Merge parsed files into one panel: precedence per cell, conflicts reported, groups summed."""
    files = list(files)
    files = [_before_handover(f, files) for f in files]
    order = sorted(range(len(files)), key=lambda i: precedence(files[i].name, files[i].vintage))
    rank_of = {i: r for r, i in enumerate(order)}
    used = [i for i, f in enumerate(files) if len(f.frame)]
    if not used:
        return Panel(pd.DataFrame(columns=COLUMNS), files={f.name: f.vintage for f in files})
    stack = Stack([files[i].frame for i in used])
    kept, contested, lost = choose(stack, [rank_of[i] for i in used])
    conflicts = conflicts_of(stack.rows(contested), stack.rows(lost))
    del contested, lost
    breaks = _breaks(files)
    groups = tuple(groups)
    # the groups' rows are summed from their members' kept rows, then gathered with the rest in
    # one pass (a concat of the kept rows and the groups' was one more copy of the panel)
    entity = stack.column("entity", kept)
    sums = [_group_rows(stack.rows(kept[_members(entity, g)]), g) for g in groups]
    del entity
    with_groups = Stack([*stack.frames, *sums])
    at = np.concatenate([kept, np.arange(len(stack), len(with_groups))])
    del stack, kept, sums
    data = with_groups.rows(at, categorical=("source", "vintage"))
    del with_groups, at
    warnings = [w for f in files for w in f.warnings]
    suspect = suspect_cells(conflicts)
    by_name = {f.name: f for f in files}
    if SLT_TABLE1 in by_name:  # Table 1's identities, and its Treasuries vs Table 3's
        cells, found = check_table1(by_name[SLT_TABLE1], by_name.get(SLT_TABLE3))
        if len(cells):
            suspect = pd.concat([suspect.reindex(columns=SUSPECT_COLUMNS), cells], ignore_index=True)
        warnings += found
    if len(suspect):
        warnings.append(
            f"{len(suspect)} cells differ between files of one release (suspect), e.g. "
            + "; ".join(
                f"{r.entity} {r.series} {r.period}: {r.source_kept} {r.value_kept:g}, "
                f"{r.source_other} {r.value_other:g}"
                for r in suspect.head(3).itertuples()
            )
        )
    return Panel(data, breaks, conflicts, warnings, {f.name: f.vintage for f in files}, groups, suspect)


def _breaks(files: list[ParsedFile]) -> list[AppliedBreak]:
    applied = []
    for f in files:
        for b in f.breaks:
            applied.append(AppliedBreak(b, STOCKS, frozenset({f.name})))
    names = {f.name for f in files}
    for table, brk, series in FLOW_HANDOVERS:
        if {FORM_S, table} <= names:
            applied.append(AppliedBreak(brk, series, frozenset({table})))
    return applied


def _before_handover(f: ParsedFile, files: list[ParsedFile]) -> ParsedFile:
    """An SLT table's net flows before it takes over from Form S are dropped when Form S is
    there (see FLOW_HANDOVERS): Form S wins the months both print."""
    handover = next(((b, s) for t, b, s in FLOW_HANDOVERS if t == f.name), None)
    if handover is None or not any(g.name == FORM_S for g in files):
        return f
    brk, series = handover
    frame = f.frame
    early = frame["series"].isin(series).to_numpy() & (frame["period"].array.asi8 < brk.period.ordinal)  # type: ignore[union-attr]
    early &= frame["value"].notna().to_numpy()
    if not early.any():
        return f
    return dataclasses.replace(f, frame=frame[~early])


def _members(entity: np.ndarray, group: Group) -> np.ndarray:
    """Where ``entity`` is one of the group's members, matched like row labels: case, quotes and
    spacing don't matter."""
    wanted = {normalize_label(m) for m in group.members}
    return np.isin(entity, [e for e in pd.unique(entity) if normalize_label(e) in wanted])


def _group_rows(members: pd.DataFrame, group: Group) -> pd.DataFrame:
    """A group's rows: the sum of its members' rows, only where every member has the cell."""
    files = sorted(members["source"].unique())
    flags = pd.DataFrame({name: members["source"] == name for name in files})
    flags[["series", "period", "value"]] = members[["series", "period", "value"]]
    keys = ["series", "period"]
    sums = flags.groupby(keys)["value"].agg(["sum", "count"])
    used = flags.groupby(keys)[files].any()
    full = sums["count"] == len(group.members)
    sources = [
        " + ".join(n for n, used_ in zip(files, row) if used_) for row in used[full].itertuples(index=False)
    ]
    out = sums[full].reset_index()
    return pd.DataFrame(
        {
            "entity": group.name,
            "series": out["series"],
            "period": out["period"],
            "value": out["sum"],
            "source": sources,
            "vintage": "",
        }
    )[COLUMNS]
