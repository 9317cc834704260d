"""SLT Table 3 (``slt_table3.txt``): Treasury holdings, net transactions and valuation by country, $mn.

Long format, one line per country and month. Values are converted to $bn by dividing by 1000
(the printed $mn figure is kept to the last digit). Net transactions are "Net U.S. Sales":
a positive number means foreigners bought. Net and valuation columns are ``n.a.`` before
2023-02; they stay missing, never zero.
"""

from __future__ import annotations

import pandas as pd

from bot.data.entities import (
    FOREIGN_NON_OFFICIAL,
    FOREIGN_OFFICIAL,
    GRAND_TOTAL,
    HOLDINGS,
    LT_HOLDINGS,
    LT_NET,
    LT_VALUATION,
    NET,
    ST_HOLDINGS,
    ST_NET,
    canonical_name,
)
from bot.data.parse.common import check_codes, decode_lines, entity_warnings
from bot.data.parse.frame import tidy
from bot.data.parse.slt import slt_block
from bot.errors import ParseError

FILE = "slt_table3.txt"
# The machine-readable header line and the series each column becomes.
COLUMNS = {
    "for_treas_pos": HOLDINGS,
    "for_treas_net": NET,
    "for_lt_treas_pos": LT_HOLDINGS,
    "for_lt_treas_net": LT_NET,
    "for_lt_treas_valchg": LT_VALUATION,
    "for_st_treas_pos": ST_HOLDINGS,
    "for_st_treas_net": ST_NET,
}
HEADER = ["country", "country_code", "date", *COLUMNS]
# Codes of the aggregate rows; their labels vary ("Of Which: Foreign Official").
CODES = {"99990": FOREIGN_OFFICIAL, "99991": FOREIGN_NON_OFFICIAL, "99996": GRAND_TOTAL}
TOLERANCE_MN = 2.0  # $mn: Foreign Official + Non-Official vs Grand Total
# Identities every line carries, each (total, parts): a printed $mn cell is rounded to ±0.5, so a
# total misses its n parts by up to (n + 1) × 0.5 $mn; the real file's largest gap is 1.
IDENTITIES = (
    ("for_treas_pos", ("for_lt_treas_pos", "for_st_treas_pos")),  # holdings = long + short
    ("for_treas_net", ("for_lt_treas_net", "for_st_treas_net")),  # net = long net + short net
)
ROUNDING_MN = 0.5


def parse_table3(data: bytes, file: str = FILE) -> pd.DataFrame:
    """Parse Table 3 into tidy rows in $bn; checks the header and Official + Non-Official = Total."""
    lines = decode_lines(data, file)
    header = next((i for i, line in enumerate(lines) if line.split("\t")[0].strip() == "country"), None)
    if header is None:
        raise ParseError(file, None, "the column-name line 'country, country_code, date, for_treas_pos, …'")
    names = [c.strip() for c in lines[header].split("\t")]
    if names[: len(HEADER)] != HEADER:
        raise ParseError(file, header + 1, "columns " + ", ".join(HEADER), lines[header])
    return _rows(lines, header, file)


def _rows(lines: list[str], header: int, file: str) -> pd.DataFrame:
    df, codes = slt_block(lines, header, file, HEADER)
    _check_totals(df, codes, file)
    _check_identities(df, codes, file)
    names = {n: canonical_name(n) for n in df["country"].unique()}
    check_codes(df, "country", "country_code", names, file)
    warnings = entity_warnings(df, "country", names, file)
    entity = codes.map(CODES).fillna(df["country"].map(names))
    frame = tidy(df, entity, COLUMNS, file, str(df["period"].max()), scale=1000.0)
    frame.attrs["warnings"] = warnings
    return frame


def _check_totals(df: pd.DataFrame, codes: pd.Series, file: str) -> None:
    """Every month has Grand Total = Foreign Official + Non-Official (holdings, $mn)."""
    agg = (
        df[codes.isin(CODES)]
        .assign(code=codes)
        .pivot_table(index="period", columns="code", values="for_treas_pos", aggfunc="first")
    )
    months = df["period"].unique()
    for code, name in CODES.items():
        have = agg[code].dropna().index if code in agg else []
        missing = [m for m in months if m not in set(have)]
        if missing:
            raise ParseError(file, None, f"a {name} row for {missing[0]} (truncated?)")
    gap = (agg["99990"] + agg["99991"] - agg["99996"]).abs()
    if (gap > TOLERANCE_MN).any():
        month = gap.idxmax()
        line = int(df[(codes == "99996") & (df["period"] == month)]["_line"].iloc[0])
        raise ParseError(
            file,
            line,
            f"Grand Total {month} = Foreign Official + Non-Official within ±{TOLERANCE_MN:g} $mn",
            f"off by {gap[month]:g}",
        )


def _check_identities(df: pd.DataFrame, codes: pd.Series, file: str) -> None:
    """On every line: holdings = long-term + short-term, net = long-term net + short-term net,
    each within (n + 1) × 0.5 $mn; and short-term net = the change in short-term holdings from
    the month before (the Treasury estimates it so), within 2 × 0.5 $mn + 0.5 (observed ≤ 1).
    A single figure scaled tenfold (a slipped digit) breaks one of them."""
    checks: list[tuple[str, pd.Series, float]] = []
    for total, parts in IDENTITIES:
        gap = (df[list(parts)].sum(axis=1, min_count=len(parts)) - df[total]).abs()
        checks.append((f"{total} = {' + '.join(parts)}", gap, (len(parts) + 1) * ROUNDING_MN))
    order = pd.DataFrame({"c": codes, "o": df["period"].array.asi8}).sort_values(["c", "o"])  # type: ignore[union-attr]
    same = (order["c"] == order["c"].shift()) & (order["o"] - order["o"].shift() == 1)
    st = df["for_st_treas_pos"].loc[order.index]
    change = (st - st.shift()).where(same)
    checks.append(
        (
            "for_st_treas_net = the change in for_st_treas_pos",
            (change - df["for_st_treas_net"].loc[order.index]).abs().reindex(df.index),
            3 * ROUNDING_MN,
        )
    )
    for what, gap, allowed in checks:
        bad = gap > allowed + 1e-9  # NaN ("n.a.", no month before) is not checked
        if bad.any():
            at = int(bad.idxmax())
            raise ParseError(
                file,
                int(df.at[at, "_line"]),
                f"{what} within ±{allowed:g} $mn (rounding) for {df.at[at, 'country'].strip()} "
                f"{df.at[at, 'period']}",
                f"off by {gap[at]:g}",
            )
