"""The release at a glance: what `tic-alert check` prints, as data (pure) and as text."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from bot.entities import (
    FOREIGN_OFFICIAL,
    GRAND_TOTAL,
    HOLDINGS,
    LT_HOLDINGS,
    LT_NET,
    LT_VALUATION,
    ST_HOLDINGS,
    is_country,
)
from bot.panel import Panel

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


def format_text(summary: dict[str, Any]) -> str:
    """Plain text for the terminal."""
    month = pd.Period(summary["data_month"], "M")
    lines = [
        f"TIC release: data for {month.strftime('%B %Y')} ({summary['unit']})",
        "Files: " + "; ".join(f"{n} {v}" for n, v in summary["files"].items()),
        "",
        f"{'Holdings of U.S. Treasuries':<28}{month.strftime('%b %Y'):>10}"
        f"{'1m':>9}{'3m':>9}{'12m':>9}   3-month move in history",
    ]
    table = [summary["grand_total"], *summary["top_holders"], *summary["groups"]]
    fo = summary["foreign_official"]
    table += [
        fo["holdings"],
        {**fo["bills"], "label": "  of which bills"},
        {**fo["bonds_notes"], "label": "  of which bonds & notes"},
    ]
    for e in table:
        lines.append(_row(e))
    flows = summary["foreign_official_flows"]
    if flows:
        net = flows["net_lt"]
        nm = pd.Period(net["month"], "M").strftime("%b %Y")
        lines += [
            "",
            f"Foreign Official net long-term Treasury transactions (SLT Table 3; > 0 = bought), {nm}:",
        ]
        lines.append(
            f"  net {_num(net['value'])}, 3 months {_num(net['change_3m'])} "
            f"({_rank(net['rank_3m'], 'net selling', 'net buying')})"
        )
        if flows["valuation_lt"]:
            val = flows["valuation_lt"]
            lines.append(
                f"  valuation change of bonds & notes {_num(val['value'])}, 3 months {_num(val['change_3m'])}"
            )
    if summary["conflicts"]:
        lines += ["", f"Note: {summary['conflicts']} cells differ between file vintages (newer file kept)."]
    return "\n".join(lines)


def _row(e: dict[str, Any]) -> str:
    label = e.get("label") or (e["entity"] if e["series"] == HOLDINGS else e["series"])
    return (
        f"{label[:27]:<28}{_num(e['value'], sign=False):>10}{_num(e['change_1m']):>9}"
        f"{_num(e['change_3m']):>9}{_num(e['change_12m']):>9}   "
        f"{_rank(e['rank_3m'], 'decline', 'increase')}"
    )


def _num(v: float | None, sign: bool = True) -> str:
    if v is None:
        return "n.a."
    return f"{v:+,.1f}" if sign else f"{v:,.1f}"


def _rank(r: dict[str, Any] | None, down: str, up: str) -> str:
    if not r:
        return "n.a."
    what = down if r["direction"] == "decline" else up
    place = "largest" if r["rank"] == 1 else f"{_ordinal(r['rank'])} largest"
    return f"{place} {what} of {r['of']} since {r['since']}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
