"""Cross-checks of SLT Table 1 (``slt_table1.txt``), run once where the panel is built.

A broken check does not reject the file: the cell is *suspect* (:attr:`Panel.suspect`, the rules
fire nothing on its entity) and the panel carries one warning per check. Each check's tolerance
is a constant below. Measured on the real file (snapshot after the June 18, 2026 release, 8,664
lines, 2020-01 → 2026-04): no cell breaks any of them.

1. The types add to the total (holdings, net, valuation): Treasuries + agency + corporate +
   equity = total on every line, within (n + 1) × 0.5 $mn for n printed parts (a printed $mn
   cell is rounded to ±0.5); ``n.a.`` parts are left out (the asset-backed sector rows print
   only agency and corporate bonds). Real file: largest gap 1 $mn.
2. The sectors add to the Grand Total: Foreign Official + Non-Official = Grand Total, every
   column, within 3 × 0.5 $mn. Real file: largest gap 1 $mn.
3. Table 1's Treasury columns are Table 3's long-term ones (holdings, net, valuation), exactly in
   $mn, when both are of the same release. Real file: equal on all 6,916 lines of Table 3 (every
   one is in Table 1).
4. Holdings change = net + valuation. It is *not* an identity in the published figures: the
   Treasury's "other changes" (reclassifications between countries, paydowns of asset-backed
   securities, survey re-benchmarks) make most lines miss by more than rounding (> 2 $mn): 94 %
   (total), 84 % (Treasuries), 54 % (agency), 83 % (corporate), 92 % (equity); median miss 524
   $mn (total), 173 (Treasuries), 4 (agency), 56 (corporate), 270 (equity); 99th percentile
   77,021 / 29,201 / 9,322 / 14,194 / 71,619 $mn; largest 398,087 $mn (total; a sector row in
   2025-06) and 37,180 (agency, the British Virgin Islands in 2024-09, the Bahamas losing the
   same amount). A level of its own is no sign of breakage: the BVI's agency holdings grew
   18-fold in one month, for real. What a slipped figure does and a real shift does not: one
   month's holdings off, the next month back, so the miss of month t and of month t + 1 are both
   large, of opposite sign, and cancel. Flagged: both misses > SPIKE_RELATIVE × the smaller of
   the neighbours' holdings + SPIKE_FLOOR_MN, and their sum within SPIKE_CANCEL × the first.
   Real file: 0 flagged (at SPIKE_RELATIVE = 0.75, 2: Venezuela's Treasuries 2024-05,
   Kazakhstan's corporates 2024-10). A holdings figure × 10, or ÷ 10 where it is over 2,000 $mn,
   in a month with a month after it is flagged; the newest month has no month after it (check 1
   catches a single slipped cell there).

Form S vs Table 1 (:func:`form_s_overlap`) is a report, not a check: Table 1's net and valuation
cells are ``n.a.`` until 2023-01, where Form S ends, so the two never print the same flow; side
by side on 2020-02 → 2023-01 are Form S's net purchases and Table 1's change in holdings, whose
difference is the valuation change (and other changes), reported by asset, never "fixed".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bot.data.entities import (
    AGENCY,
    ASSET_SERIES,
    CORPORATE,
    EQUITY,
    LT_HOLDINGS,
    LT_NET,
    LT_VALUATION,
    TOTAL_LT,
    TREASURY,
)
from bot.data.parse import ParsedFile
from bot.data.parse.table1 import COLUMNS, TREASURY_COLUMNS

FILE = "slt_table1.txt"
ROUNDING_MN = 0.5  # a printed $mn cell is rounded to ±0.5
SECTORS_TOLERANCE_MN = 3 * ROUNDING_MN  # Official + Non-Official vs Grand Total
TREASURY_TOLERANCE_MN = 0.0  # Table 1 and Table 3 print the same $mn figure
SPIKE_RELATIVE = 0.85  # each miss > 0.85 × the smaller neighbouring holdings …
SPIKE_FLOOR_MN = 100.0  # … + 100 $mn
SPIKE_CANCEL = 0.25  # and the two misses cancel to within a quarter of the first
# the file's column prefix of each asset
PREFIX = {TOTAL_LT: "total", TREASURY: "treas", AGENCY: "agcy", CORPORATE: "corp", EQUITY: "eqty"}
TYPES = (TREASURY, AGENCY, CORPORATE, EQUITY)
KINDS = {"pos": "holdings", "net": "net", "valchg": "valuation"}
GRAND_TOTAL_CODE, OFFICIAL_CODE, NON_OFFICIAL_CODE = "99996", "99990", "99991"
SUSPECT_COLUMNS = [
    "entity",
    "series",
    "period",
    "value_kept",
    "source_kept",
    "value_other",
    "source_other",
    "check",
]


def check_table1(table1: ParsedFile, table3: ParsedFile | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The suspect cells of Table 1 (``SUSPECT_COLUMNS``, $bn) and one warning per broken check."""
    lines = table1.lines
    if lines is None or lines.empty:
        return pd.DataFrame(columns=SUSPECT_COLUMNS), []
    found = [types_add_up(lines), sectors_add_up(lines), holdings_spikes(lines)]
    if table3 is not None and table3.vintage == table1.vintage:
        found.append(treasury_matches(lines, table3.frame))
    found = [f for f in found if len(f)]
    if not found:
        return pd.DataFrame(columns=SUSPECT_COLUMNS), []
    cells = pd.concat(found, ignore_index=True)[SUSPECT_COLUMNS]
    warnings = []
    for check, rows in cells.groupby("check", sort=False):
        r = rows.iloc[0]
        warnings.append(
            f"{FILE}: {len(rows)} cells break '{check}' (withheld), e.g. {r.entity} {r.series} "
            f"{r.period}: {r.value_kept * 1000:g} vs {r.value_other * 1000:g} $mn"
        )
    return cells, warnings


def _cells(lines: pd.DataFrame, at: np.ndarray, series: str, kept, other, check: str, other_src=FILE):
    return pd.DataFrame(
        {
            "entity": lines["entity"].to_numpy()[at],
            "series": series,
            "period": lines["period"].array[at],
            "value_kept": np.asarray(kept, dtype="float64")[at] / 1000,
            "source_kept": FILE,
            "value_other": np.asarray(other, dtype="float64")[at] / 1000,
            "source_other": other_src,
            "check": check,
        }
    )


def types_add_up(lines: pd.DataFrame) -> pd.DataFrame:
    """Check 1: Treasuries + agency + corporate + equity = total, each kind, every line."""
    out = []
    for code, kind in KINDS.items():
        parts = lines[[f"for_lt_{PREFIX[a]}_{code}" for a in TYPES]]
        total = lines[f"for_lt_total_{code}"].to_numpy()
        known = parts.notna().sum(axis=1).to_numpy()
        sums = parts.sum(axis=1, min_count=1).to_numpy()
        gap = np.abs(sums - total)
        bad = np.flatnonzero(gap > (known + 1) * ROUNDING_MN + 1e-9)  # NaN: not checked
        if len(bad):
            series = ASSET_SERIES[TOTAL_LT][kind]
            out.append(_cells(lines, bad, series, total, sums, f"{series} = the sum of the four types"))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=SUSPECT_COLUMNS)


def sectors_add_up(lines: pd.DataFrame) -> pd.DataFrame:
    """Check 2: Foreign Official + Non-Official = Grand Total, every column, every month."""
    codes = lines["country_code"]
    keyed = {
        c: lines[codes == c].set_index("period") for c in (GRAND_TOTAL_CODE, OFFICIAL_CODE, NON_OFFICIAL_CODE)
    }
    total = keyed[GRAND_TOTAL_CODE]
    out = []
    for column, series in COLUMNS.items():
        parts = keyed[OFFICIAL_CODE][column] + keyed[NON_OFFICIAL_CODE][column]
        parts = parts.reindex(total.index)
        gap = (parts - total[column]).abs().to_numpy()
        bad = np.flatnonzero(gap > SECTORS_TOLERANCE_MN + 1e-9)
        if len(bad):
            rows = total.reset_index()
            check = "Grand Total = Foreign Official + Non-Official"
            out.append(_cells(rows, bad, series, rows[column], parts, check))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=SUSPECT_COLUMNS)


def treasury_matches(lines: pd.DataFrame, table3: pd.DataFrame) -> pd.DataFrame:
    """Check 3: Table 1's Treasury columns = Table 3's long-term ones, on their common lines."""
    out = []
    for column, series in zip(TREASURY_COLUMNS, (LT_HOLDINGS, LT_NET, LT_VALUATION), strict=True):
        t3 = table3[table3["series"] == series][["entity", "period", "value"]]
        m = lines[["entity", "period", column, "_line"]].merge(t3, on=["entity", "period"])
        if m.empty:
            continue
        mine = m[column].to_numpy()
        theirs = np.round(m["value"].to_numpy() * 1000, 3)
        differ = np.isnan(mine) != np.isnan(theirs)
        differ |= np.abs(mine - theirs) > TREASURY_TOLERANCE_MN + 1e-6
        bad = np.flatnonzero(differ)
        if len(bad):
            out.append(
                pd.DataFrame(
                    {
                        "entity": m["entity"].to_numpy()[bad],
                        "series": series,
                        "period": m["period"].array[bad],
                        "value_kept": theirs[bad] / 1000,
                        "source_kept": "slt_table3.txt",
                        "value_other": mine[bad] / 1000,
                        "source_other": FILE,
                        "check": "Table 1's Treasuries = Table 3's long-term",
                    }
                )
            )
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=SUSPECT_COLUMNS)


def _by_entity(lines: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Lines sorted by code and month; whether each has the month before / after in the same code."""
    ordinal = lines["period"].array.asi8  # type: ignore[union-attr]
    s = lines.assign(_o=ordinal).sort_values(["country_code", "_o"], kind="stable")
    code, o = s["country_code"].to_numpy(), s["_o"].to_numpy()
    before = np.r_[False, (code[1:] == code[:-1]) & (o[1:] - o[:-1] == 1)]
    after = np.r_[before[1:], False]
    return s, before, after


def holdings_misses(
    lines: pd.DataFrame, asset: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Lines sorted by code and month, holdings change − net − valuation ($mn; NaN without a
    month before, or n.a.), the holdings of the month before, and whether a month after exists."""
    s, before, after = _by_entity(lines)
    prefix = PREFIX[asset]
    pos = s[f"for_lt_{prefix}_pos"].to_numpy()
    prev = np.where(before, np.r_[np.nan, pos[:-1]], np.nan)
    miss = pos - prev - s[f"for_lt_{prefix}_net"].to_numpy() - s[f"for_lt_{prefix}_valchg"].to_numpy()
    return s, miss, prev, after


def holdings_spikes(lines: pd.DataFrame) -> pd.DataFrame:
    """Check 4: a holdings figure off for one month (see the module's docstring)."""
    out = []
    for asset in PREFIX:
        s, miss, prev, after = holdings_misses(lines, asset)
        pos = s[f"for_lt_{PREFIX[asset]}_pos"].to_numpy()
        nxt_miss = np.where(after, np.r_[miss[1:], np.nan], np.nan)
        nxt_pos = np.where(after, np.r_[pos[1:], np.nan], np.nan)
        with np.errstate(invalid="ignore"):
            base = SPIKE_RELATIVE * np.fmin(np.abs(prev), np.abs(nxt_pos)) + SPIKE_FLOOR_MN
            spike = (np.abs(miss) > base) & (np.abs(nxt_miss) > base)
            spike &= np.sign(miss) == -np.sign(nxt_miss)
            spike &= np.abs(miss + nxt_miss) <= SPIKE_CANCEL * np.abs(miss)
        bad = np.flatnonzero(spike)
        if len(bad):
            series = ASSET_SERIES[asset]["holdings"]
            out.append(_cells(s, bad, series, pos, pos - miss, f"{series}: change = net + valuation"))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=SUSPECT_COLUMNS)


def holdings_change_report(lines: pd.DataFrame) -> pd.DataFrame:
    """How far holdings change − (net + valuation) misses, by asset ($mn): lines checked, share
    beyond rounding (> 4 × 0.5), median, 99th percentile, largest."""
    rows = []
    for asset in PREFIX:
        _, miss, _, _ = holdings_misses(lines, asset)
        m = np.abs(miss[~np.isnan(miss)])
        rows.append(
            {
                "asset": asset,
                "lines": len(m),
                "beyond_rounding": float((m > 4 * ROUNDING_MN).mean()) if len(m) else np.nan,
                "median": float(np.median(m)) if len(m) else np.nan,
                "p99": float(np.quantile(m, 0.99)) if len(m) else np.nan,
                "max": float(m.max()) if len(m) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def form_s_overlap(form_s: pd.DataFrame, table1: ParsedFile) -> pd.DataFrame:
    """Form S and Table 1 side by side on their common months, by asset ($bn): ``net_cells`` the
    (entity, month) cells where both print a net flow (none in the real files); ``cells``, the
    median and largest absolute difference between Form S's net purchases and Table 1's change
    in holdings (the difference is the valuation change and other changes) for the common
    entities, and the same for the Grand Total alone."""
    assert table1.lines is not None
    rows = []
    s, before, _ = _by_entity(table1.lines)
    for asset in PREFIX:
        series = ASSET_SERIES[asset]["net"]
        pos = s[f"for_lt_{PREFIX[asset]}_pos"].to_numpy()
        change = np.where(before, pos - np.r_[np.nan, pos[:-1]], np.nan) / 1000
        t1 = pd.DataFrame(
            {
                "entity": s["entity"].to_numpy(),
                "period": s["period"].array,
                "t1_net": s[f"for_lt_{PREFIX[asset]}_net"].to_numpy() / 1000,
                "t1_change": change,
            }
        )
        fs = form_s[form_s["series"] == series][["entity", "period", "value"]]
        m = fs.merge(t1, on=["entity", "period"])
        net_cells = int((m["value"].notna() & m["t1_net"].notna()).sum())
        both = m.dropna(subset=["value", "t1_change"])
        diff = (both["value"] - both["t1_change"]).abs()
        gt = diff[both["entity"] == "Grand Total"]
        rows.append(
            {
                "asset": asset,
                "net_cells": net_cells,
                "months": f"{both['period'].min()} → {both['period'].max()}" if len(both) else "",
                "cells": len(both),
                "median_abs": float(diff.median()) if len(diff) else np.nan,
                "max_abs": float(diff.max()) if len(diff) else np.nan,
                "grand_total_median_abs": float(gt.median()) if len(gt) else np.nan,
                "grand_total_max_abs": float(gt.max()) if len(gt) else np.nan,
            }
        )
    return pd.DataFrame(rows)
