"""The release at a glance, as typed data (pure); bot.render.text turns it (and the events) into
the message, bot.render.charts into the bars chart, `check --json` into JSON."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from bot.data.entities import (
    AGENCY_NET,
    CORP_NET,
    EQUITY_NET,
    FOREIGN_NON_OFFICIAL,
    FOREIGN_OFFICIAL,
    GRAND_TOTAL,
    HOLDINGS,
    LT_HOLDINGS,
    LT_NET,
    LT_VALUATION,
    ST_HOLDINGS,
    TOTAL_LT_NET,
    is_country,
)
from bot.data.panel import Panel
from bot.data.ranking import WindowRank
from bot.data.windows import STOCKS

WINDOWS = (1, 3, 12)
# the Treasury's headline: net foreign purchases of long-term U.S. securities, then by type
FLOW_TYPES = (LT_NET, AGENCY_NET, CORP_NET, EQUITY_NET)


@dataclass(frozen=True)
class HolderRow:
    """One row of the summary: an entity's series at the month, its 1/3/12-month changes and how
    its 3-month change ranks in history ($bn as printed; None = n.a.)."""

    entity: str
    series: str
    month: str
    value: float | None
    source: str | None
    change_1m: float | None
    change_3m: float | None
    change_12m: float | None
    rank_3m: WindowRank | None
    rank_1m: WindowRank | None = None  # the month's own figure in history (net flows)


@dataclass(frozen=True)
class OfficialHoldings:
    """Foreign Official holdings and their split into bills and bonds & notes."""

    holdings: HolderRow
    bills: HolderRow
    bonds_notes: HolderRow


@dataclass(frozen=True)
class OfficialFlows:
    """Foreign Official net long-term transactions and valuation change (SLT Table 3) at their
    newest month, which may trail the holdings month."""

    net_lt: HolderRow
    valuation_lt: HolderRow | None


@dataclass(frozen=True)
class HeadlineFlows:
    """The release's headline (the Treasury's own first line): net foreign purchases of long-term
    U.S. securities in the month, in all and by type, and by the official and private sectors
    where the files split them; each with its month's rank in history (``rank_1m``)."""

    total: HolderRow  # all long-term U.S. securities, all foreigners
    types: tuple[HolderRow, ...]  # Treasury notes & bonds, agency bonds, corporate bonds, stocks
    sectors: tuple[HolderRow, ...]  # Foreign Official and Foreign Non-Official, all securities


@dataclass(frozen=True)
class ReleaseSummary:
    """The newest month of a panel at a glance; every number comes from the panel as printed."""

    data_month: str  # YYYY-MM
    unit: str
    files: dict[str, str]  # file → its vintage, sorted by name
    grand_total: HolderRow
    top_holders: tuple[HolderRow, ...]
    groups: tuple[HolderRow, ...]
    foreign_official: OfficialHoldings
    foreign_official_flows: OfficialFlows | None
    conflicts: int  # cells that differ between file vintages
    warnings: tuple[str, ...]
    headline: HeadlineFlows | None = None  # None: no flows of all long-term securities in the files

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (`check --json`)."""
        return asdict(self)


def build_summary(panel: Panel, top: int = 10) -> ReleaseSummary:
    """Summarise the newest month of the panel; every number comes from the panel as printed."""
    month = panel.latest(GRAND_TOTAL, HOLDINGS)
    countries = [
        (e, v)
        for e in panel.entities(HOLDINGS)
        if is_country(e, panel.groups)
        for v in [_value_at(panel, e, HOLDINGS, month)]
        if v is not None
    ]
    countries.sort(key=lambda ev: -ev[1])
    flows = None
    if panel.has(FOREIGN_OFFICIAL, LT_NET):
        net_month = panel.latest(FOREIGN_OFFICIAL, LT_NET)
        flows = OfficialFlows(
            net_lt=_row(panel, FOREIGN_OFFICIAL, LT_NET, net_month),
            valuation_lt=_row(panel, FOREIGN_OFFICIAL, LT_VALUATION, net_month)
            if panel.has(FOREIGN_OFFICIAL, LT_VALUATION)
            else None,
        )
    return ReleaseSummary(
        data_month=str(month),
        unit="billions of dollars",
        files=dict(sorted(panel.files.items())),
        grand_total=_row(panel, GRAND_TOTAL, HOLDINGS, month),
        top_holders=tuple(_row(panel, e, HOLDINGS, month) for e, _ in countries[:top]),
        groups=tuple(
            _row(panel, g.name, HOLDINGS, month) for g in panel.groups if panel.has(g.name, HOLDINGS)
        ),
        foreign_official=OfficialHoldings(
            holdings=_row(panel, FOREIGN_OFFICIAL, HOLDINGS, month),
            bills=_row(panel, FOREIGN_OFFICIAL, ST_HOLDINGS, month),
            bonds_notes=_row(panel, FOREIGN_OFFICIAL, LT_HOLDINGS, month),
        ),
        foreign_official_flows=flows,
        conflicts=len(panel.conflicts),
        warnings=tuple(panel.warnings),
        headline=headline_flows(panel),
    )


def headline_flows(panel: Panel) -> HeadlineFlows | None:
    """The headline flows at the newest month of all foreigners' net purchases of long-term U.S.
    securities: the release month (or the month before); None when the files hold no such month
    (a release whose SLT Table 1 is not out yet)."""
    if not panel.has(GRAND_TOTAL, TOTAL_LT_NET):
        return None
    month = panel.latest(GRAND_TOTAL, TOTAL_LT_NET)
    if panel.has(GRAND_TOTAL, HOLDINGS) and month < panel.latest(GRAND_TOTAL, HOLDINGS) - 1:
        return None  # SLT Table 1 not out (Form S froze in Jan 2023): no headline of another year
    return HeadlineFlows(
        total=_row(panel, GRAND_TOTAL, TOTAL_LT_NET, month),
        types=tuple(_row(panel, GRAND_TOTAL, s, month) for s in FLOW_TYPES if panel.has(GRAND_TOTAL, s)),
        sectors=tuple(
            _row(panel, e, TOTAL_LT_NET, month)
            for e in (FOREIGN_OFFICIAL, FOREIGN_NON_OFFICIAL)
            if month in panel.series(e, TOTAL_LT_NET).index
        ),
    )


def _value_at(panel: Panel, entity: str, series: str, month: pd.Period) -> float | None:
    s = panel.series(entity, series)
    return float(s[month]) if month in s.index else None


def _row(panel: Panel, entity: str, series: str, month: pd.Period) -> HolderRow:
    rows = panel.rows(entity, series)
    here = month in rows.index
    changes: dict[int, float | None] = {}
    for k in WINDOWS:
        v = panel.window(entity, series, k).get(month)
        changes[k] = None if v is None or math.isnan(v) else round(float(v), 6)
    w3 = panel.window(entity, series, 3).dropna()
    return HolderRow(
        entity=entity,
        series=series,
        month=str(month),
        value=float(rows.at[month, "value"]) if here else None,
        source=str(rows.at[month, "source"]) if here else None,
        change_1m=changes[1],
        change_3m=changes[3],
        change_12m=changes[12],
        rank_3m=panel.rank(entity, series, 3) if month in w3.index else None,
        rank_1m=panel.rank(entity, series, 1) if here and series not in STOCKS else None,
    )
