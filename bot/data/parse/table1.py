"""SLT Table 1 (``slt_table1.txt``): all long-term U.S. securities held by foreign residents, by
country, 2020-01 on, $mn: holdings, net transactions and valuation change of the total and of
each type (Treasuries, agency bonds, corporate & other bonds, equity).

Long format like Table 3, one line per country (or sector row) and month; values become $bn.
Net transactions are "Net U.S. Sales": > 0 = foreigners bought. Net and valuation cells are
``n.a.`` before 2023-02 (the Form S series, ``s1_globl.txt``, holds the flows until 2023-01);
so are the types a sector row does not split (the "Of Which: … Asset-Backed Securities" rows
print only agency and corporate bonds). ``n.a.`` stays missing, never zero.

Rows: the countries; "Grand Total" (99996), "Of Which: Foreign Official" (99990) and "Foreign
Non-Official" (99991) become the panel's aggregate entities; the finer "Of Which: …" sector rows
(depository institutions, fund shares, asset-backed securities, each also split official /
non-official) keep their printed label, which no rule takes for a country.

Table 1's Treasury columns are Table 3's long-term ones (the primary source): they are not in
the frame but in :attr:`Table1.lines`, for the panel's cross-check (:mod:`bot.data.crosscheck`),
as are the identities every line carries (the types add to the total): a broken one withholds
the cell, it does not reject the file. A bad header, a truncated file, an HTML page, a short line
or a cell that is not a number is a ParseError naming the file and the line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bot.data.entities import (
    AGENCY_HOLDINGS,
    AGENCY_NET,
    AGENCY_VALUATION,
    CORP_HOLDINGS,
    CORP_NET,
    CORP_VALUATION,
    EQUITY_HOLDINGS,
    EQUITY_NET,
    EQUITY_VALUATION,
    FOREIGN_NON_OFFICIAL,
    FOREIGN_OFFICIAL,
    GRAND_TOTAL,
    LT_HOLDINGS,
    LT_NET,
    LT_VALUATION,
    TOTAL_LT_HOLDINGS,
    TOTAL_LT_NET,
    TOTAL_LT_VALUATION,
    canonical_name,
)
from bot.data.parse.common import check_codes, decode_lines, entity_warnings
from bot.data.parse.frame import tidy
from bot.data.parse.slt import slt_block
from bot.errors import ParseError

FILE = "slt_table1.txt"
# The machine-readable header line's column codes and the series each becomes.
COLUMNS = {
    "for_lt_total_pos": TOTAL_LT_HOLDINGS,
    "for_lt_total_net": TOTAL_LT_NET,
    "for_lt_total_valchg": TOTAL_LT_VALUATION,
    "for_lt_treas_pos": LT_HOLDINGS,
    "for_lt_treas_net": LT_NET,
    "for_lt_treas_valchg": LT_VALUATION,
    "for_lt_agcy_pos": AGENCY_HOLDINGS,
    "for_lt_agcy_net": AGENCY_NET,
    "for_lt_agcy_valchg": AGENCY_VALUATION,
    "for_lt_corp_pos": CORP_HOLDINGS,
    "for_lt_corp_net": CORP_NET,
    "for_lt_corp_valchg": CORP_VALUATION,
    "for_lt_eqty_pos": EQUITY_HOLDINGS,
    "for_lt_eqty_net": EQUITY_NET,
    "for_lt_eqty_valchg": EQUITY_VALUATION,
}
HEADER = ["country", "country_code", "date", *COLUMNS]
TREASURY_COLUMNS = ("for_lt_treas_pos", "for_lt_treas_net", "for_lt_treas_valchg")  # Table 3's
PANEL_COLUMNS = {c: s for c, s in COLUMNS.items() if c not in TREASURY_COLUMNS}
# Codes of the aggregate rows; their labels vary ("Of Which: Foreign Official").
CODES = {"99990": FOREIGN_OFFICIAL, "99991": FOREIGN_NON_OFFICIAL, "99996": GRAND_TOTAL}


@dataclass
class Table1:
    """The parsed file: tidy rows in $bn (no Treasury columns), and its typed lines in $mn
    (every column, ``entity`` and ``_line`` added) for the cross-checks."""

    frame: pd.DataFrame
    lines: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def parse_table1(data: bytes, file: str = FILE) -> Table1:
    """Parse Table 1; checks the header, the codes and that no month lost its aggregate rows."""
    lines = decode_lines(data, file)
    header = next((i for i, line in enumerate(lines) if line.split("\t")[0].strip() == "country"), None)
    if header is None:
        raise ParseError(
            file, None, "the column-name line 'country, country_code, date, for_lt_total_pos, …'"
        )
    names = [c.strip() for c in lines[header].split("\t")]
    if names[: len(HEADER)] != HEADER:
        raise ParseError(file, header + 1, "columns " + ", ".join(HEADER), lines[header])
    df, codes = slt_block(lines, header, file, HEADER)
    _check_aggregates(df, codes, file)
    names_map = {n: canonical_name(n) for n in df["country"].unique()}
    check_codes(df, "country", "country_code", names_map, file)
    warnings = entity_warnings(df, "country", names_map, file)
    df["entity"] = codes.map(CODES).fillna(df["country"].map(names_map))
    df["country_code"] = codes
    frame = tidy(df, df["entity"], PANEL_COLUMNS, file, str(df["period"].max()), scale=1000.0)
    return Table1(frame, df, warnings)


def _check_aggregates(df: pd.DataFrame, codes: pd.Series, file: str) -> None:
    """Every month has its Grand Total, Foreign Official and Non-Official rows (a file cut short
    inside the data loses them: the blank line after it may still be there)."""
    months = set(df["period"].array.asi8)  # type: ignore[union-attr]
    for code, name in CODES.items():
        have = set(df["period"].array.asi8[(codes == code).to_numpy()])  # type: ignore[union-attr]
        missing = sorted(months - have)
        if missing:
            first = pd.PeriodIndex.from_ordinals([missing[0]], freq="M")[0]
            raise ParseError(file, None, f"a {name} row for {first} (truncated?)")
