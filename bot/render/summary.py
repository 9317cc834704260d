"""The release at a glance, as data (pure); bot.render.text turns it (and the events) into the message."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from bot.data.entities import (
    FOREIGN_OFFICIAL,
    GRAND_TOTAL,
    HOLDINGS,
    LT_HOLDINGS,
    LT_NET,
    LT_VALUATION,
    ST_HOLDINGS,
    is_country,
)
from bot.data.panel import Panel

WINDOWS = (1, 3, 12)


def build_summary(panel: Panel, top: int = 10) -> dict[str, Any]:
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
    holders = [_entry(panel, e, HOLDINGS, month) for e, _ in countries[:top]]
    groups = [_entry(panel, g.name, HOLDINGS, month) for g in panel.groups if panel.has(g.name, HOLDINGS)]
    official = {
        "holdings": _entry(panel, FOREIGN_OFFICIAL, HOLDINGS, month),
        "bills": _entry(panel, FOREIGN_OFFICIAL, ST_HOLDINGS, month),
        "bonds_notes": _entry(panel, FOREIGN_OFFICIAL, LT_HOLDINGS, month),
    }
    flows = None
    if panel.has(FOREIGN_OFFICIAL, LT_NET):
        net_month = panel.latest(FOREIGN_OFFICIAL, LT_NET)
        flows = {
            "net_lt": _entry(panel, FOREIGN_OFFICIAL, LT_NET, net_month),
            "valuation_lt": _entry(panel, FOREIGN_OFFICIAL, LT_VALUATION, net_month)
            if panel.has(FOREIGN_OFFICIAL, LT_VALUATION)
            else None,
        }
    return {
        "data_month": str(month),
        "unit": "billions of dollars",
        "files": dict(sorted(panel.files.items())),
        "grand_total": _entry(panel, GRAND_TOTAL, HOLDINGS, month),
        "top_holders": holders,
        "groups": groups,
        "foreign_official": official,
        "foreign_official_flows": flows,
        "conflicts": len(panel.conflicts),
        "warnings": list(panel.warnings),
    }


def _value_at(panel: Panel, entity: str, series: str, month: pd.Period) -> float | None:
    s = panel.series(entity, series)
    return float(s[month]) if month in s.index else None


def _entry(panel: Panel, entity: str, series: str, month: pd.Period) -> dict[str, Any]:
    rows = panel.rows(entity, series)
    value = float(rows.at[month, "value"]) if month in rows.index else None
    entry: dict[str, Any] = {
        "entity": entity,
        "series": series,
        "month": str(month),
        "value": value,
        "source": str(rows.at[month, "source"]) if month in rows.index else None,
    }
    for k in WINDOWS:
        w = panel.window(entity, series, k)
        v = w.get(month)
        entry[f"change_{k}m"] = None if v is None or math.isnan(v) else round(float(v), 6)
    w3 = panel.window(entity, series, 3).dropna()
    entry["rank_3m"] = panel.rank(entity, series, 3) if month in w3.index else None
    return entry
