"""A holdings move split into net transactions and valuation, where the data have them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.data.entities import (
    ASSET_SERIES,
    HOLDINGS,
    LT_NET,
    LT_VALUATION,
    NET,
    ST_HOLDINGS,
    Group,
    asset_of,
)
from bot.data.sources import source_label
from bot.data.windows import DECIMALS, STOCKS
from bot.rules.events import (
    LT_HOLDINGS_CHANGE,
    NET_BY_MEMBER,
    NET_LT,
    NET_NOT_AVAILABLE,
    NET_TOTAL,
    REST_AFTER_LT,
    REST_AFTER_NET,
    REST_AFTER_TOTAL,
    VALUATION_LT,
    Caveat,
    Part,
)
from bot.rules.metrics import Metrics


def flow_sum(
    metrics: Metrics, entity: str, series: str, start: pd.Period, end: pd.Period
) -> tuple[float | None, str]:
    """Sum of a flow over start..end as Panel.window would (None if a month is missing or the
    months span a series break), with the file(s) it comes from."""
    lo, hi = metrics.position(start), metrics.position(end)
    if lo < 0 or hi >= len(metrics.index):
        return None, ""
    cells = metrics.column(series, entity)[lo : hi + 1]
    if np.isnan(cells).any() or metrics.breaks_between(entity, series, start, end):
        return None, ""
    src = metrics.source_column(series, entity)[lo : hi + 1]
    names = sorted({n for s in src for n in str(s).split(" + ")})
    return round(float(cells.sum()), DECIMALS), " + ".join(source_label(n) for n in names)


def _stock_change(
    metrics: Metrics, entity: str, series: str, start: pd.Period, end: pd.Period
) -> float | None:
    v = metrics.window_column(series, (end - start).n + 1, entity)[metrics.position(end)]
    return None if np.isnan(v) else float(v)


def decompose(
    metrics: Metrics, entity: str, series: str, start: pd.Period, end: pd.Period, value: float
) -> tuple[tuple[Part, ...], list[Caveat]]:
    """Net-transaction and valuation parts of a move over start..end, where the data have them.

    For holdings (bills + bonds & notes): SLT Table 3 net transactions and valuation change of
    bonds & notes (from 2023-02), else Form S net purchases of notes & bonds (to 2023-01). For a
    flow basis (net transactions): the valuation change and holdings change of that asset.
    What the parts do not explain is shown as a remainder, labelled as derived.
    """
    notes: list[Caveat] = []
    if series == ST_HOLDINGS:  # bills: no net-transaction split in the files
        return (), notes
    group = next((g for g in metrics.panel.groups if g.name == entity), None)
    parts: list[Part] = []
    if series in STOCKS:
        net: float | None = None
        src = ""
        net_series = NET
        if series == HOLDINGS:
            net, src = flow_sum(metrics, entity, NET, start, end)
        if net is None:
            net_series = LT_NET
            net, src = flow_sum(metrics, entity, LT_NET, start, end)
        if net is None:
            notes.append(_why_missing(metrics, entity, start, end))
            return (), notes
        kind = NET_TOTAL if net_series == NET else NET_LT
        valuation, vsrc = flow_sum(metrics, entity, LT_VALUATION, start, end)
        parts.append(Part(kind, net, src, _members(metrics, group, net_series, start, end)))
        if valuation is not None:
            parts.append(Part(VALUATION_LT, valuation, vsrc))
            rest = REST_AFTER_TOTAL if net_series == NET else REST_AFTER_LT
            parts.append(Part(rest, round(value - net - valuation, DECIMALS), "derived"))
        else:
            parts.append(Part(REST_AFTER_NET, round(value - net, DECIMALS), "derived"))
        return tuple(parts), notes
    # a flow basis: the members' shares, then what happened to prices and to the stock of the
    # same asset (Treasury notes & bonds: SLT Table 3; stocks, corporate and agency bonds, all
    # long-term securities: SLT Table 1; foreign securities: no stock in the files)
    members = _members(metrics, group, series, start, end)
    if members:
        parts.append(Part(NET_BY_MEMBER, value, "", members))
    asset = asset_of(series)
    of_asset = ASSET_SERIES.get(asset, {})
    if "valuation" not in of_asset:
        return tuple(parts), notes
    valuation, vsrc = flow_sum(metrics, entity, of_asset["valuation"], start, end)
    if valuation is not None:
        parts.append(Part(VALUATION_LT, valuation, vsrc, asset=asset))
        stock = _stock_change(metrics, entity, of_asset["holdings"], start, end)
        if stock is not None:
            src = metrics.source_column(of_asset["holdings"], entity)[
                metrics.position(start) - 1 : metrics.position(end) + 1
            ]
            names = " + ".join(sorted({source_label(str(n)) for n in src}))
            parts.append(Part(LT_HOLDINGS_CHANGE, round(stock, DECIMALS), names, asset=asset))
            # what net purchases and prices do not explain (reclassifications, revisions, rounding)
            parts.append(Part(REST_AFTER_LT, round(stock - value - valuation, DECIMALS), "derived"))
    return tuple(parts), notes


def _members(
    metrics: Metrics, group: Group | None, series: str, start: pd.Period, end: pd.Period
) -> tuple[tuple[str, float | None], ...]:
    if group is None:
        return ()
    return tuple((m, flow_sum(metrics, m, series, start, end)[0]) for m in group.members)


def _why_missing(metrics: Metrics, entity: str, start: pd.Period, end: pd.Period) -> Caveat:
    for series in (NET, LT_NET):
        breaks = metrics.breaks_between(entity, series, start, end)
        if breaks:
            return Caveat(NET_NOT_AVAILABLE, breaks[0])  # the window spans a series break
    return Caveat(NET_NOT_AVAILABLE)  # no data for this entity and window
