"""Form S history (``s1_globl.txt``): gross purchases and sales by country, 1977 → 2023-01, $mn.

The file is frozen: the Form S series ended with January 2023 data. Its twelve columns are gross
purchases by foreigners from U.S. residents ([1]–[6]) and gross sales by foreigners to U.S.
residents ([7]–[12]), each of U.S. Treasury bonds & notes, U.S. agency bonds, U.S. corporate &
other bonds, U.S. corporate stocks, foreign bonds and foreign stocks. Net series, $bn:

- foreigners' net purchases of U.S. securities, > 0 = foreigners bought (Table 1's "Net U.S.
  Sales" sign): ``lt_net`` = [1] − [7] (Treasuries), ``agency_net`` = [2] − [8], ``corp_net`` =
  [3] − [9], ``equity_net`` = [4] − [10], ``total_lt_net`` = their sum ([1..4] − [7..10]);
- U.S. residents' net purchases of foreign securities, > 0 = U.S. residents bought: a foreigner's
  gross sale to a U.S. resident is the U.S. resident's purchase, so ``foreign_bonds_net`` =
  [11] − [5] and ``foreign_stocks_net`` = [12] − [6]. (The Treasury's own tables print the
  opposite sign, "net foreign purchases of foreign securities"; ours is the U.S. residents'.)
"""

from __future__ import annotations

import pandas as pd

from bot.data.entities import (
    AGENCY_NET,
    CORP_NET,
    EQUITY_NET,
    FOREIGN_BONDS_NET,
    FOREIGN_STOCKS_NET,
    LT_NET,
    TOTAL_LT_NET,
    canonical_name,
)
from bot.data.parse.common import check_codes, decode_lines, entity_warnings, long_table
from bot.data.parse.frame import tidy
from bot.errors import ParseError

FILE = "s1_globl.txt"
GRAND_TOTAL_CODE = "99996"
GROSS = [f"[{n}]" for n in range(1, 13)]
HEADER = ["name", "code", "month", *GROSS]
# Each net series: (bought, sold) columns, net = bought − sold.
NET_COLUMNS = {
    LT_NET: ("[1]", "[7]"),
    AGENCY_NET: ("[2]", "[8]"),
    CORP_NET: ("[3]", "[9]"),
    EQUITY_NET: ("[4]", "[10]"),
    FOREIGN_BONDS_NET: ("[11]", "[5]"),
    FOREIGN_STOCKS_NET: ("[12]", "[6]"),
}
DOMESTIC = (LT_NET, AGENCY_NET, CORP_NET, EQUITY_NET)  # total_lt_net is their sum


def parse_form_s(data: bytes, file: str = FILE) -> pd.DataFrame:
    """Parse Form S into the net series above ($bn) per country and month."""
    lines = decode_lines(data, file)
    header = next((i for i, line in enumerate(lines) if line.startswith("name\t")), None)
    if header is None:
        raise ParseError(file, None, "the column-name line 'name code month [1] … [12]'")
    names = [c.strip() for c in lines[header].split("\t")]
    if names[: len(HEADER)] != HEADER:
        raise ParseError(file, header + 1, "columns " + " ".join(HEADER), lines[header])
    start = header + 1
    if start < len(lines) and lines[start].strip().startswith("-"):
        start += 1  # the dashes under the column names
    stop = next((i for i in range(start, len(lines)) if not lines[i].split("\t", 1)[0].strip()), len(lines))
    if stop == start:
        raise ParseError(file, start + 1, "data lines after the column names")
    df = long_table(lines, start, stop, file, list(range(len(HEADER))), HEADER)
    months = df["period"].array.asi8
    total_codes = [c for c in df["code"].unique() if c.strip() == GRAND_TOTAL_CODE]
    total_months = set(months[df["code"].isin(total_codes).to_numpy()])
    missing = sorted(set(months) - total_months)
    if missing:
        first = pd.PeriodIndex.from_ordinals([missing[0]], freq="M")[0]
        raise ParseError(file, None, f"a Grand Total line for every month, none for {first} (truncated?)")
    for series, (bought, sold) in NET_COLUMNS.items():
        df[series] = df[bought] - df[sold]
    df[TOTAL_LT_NET] = df[list(DOMESTIC)].sum(axis=1, min_count=len(DOMESTIC))
    names_map = {n: canonical_name(n) for n in df["name"].unique()}
    check_codes(df, "name", "code", names_map, file)
    warnings = entity_warnings(df, "name", names_map, file)
    columns = {s: s for s in (LT_NET, AGENCY_NET, CORP_NET, EQUITY_NET, TOTAL_LT_NET)}
    columns |= {FOREIGN_BONDS_NET: FOREIGN_BONDS_NET, FOREIGN_STOCKS_NET: FOREIGN_STOCKS_NET}
    frame = tidy(df, df["name"].map(names_map), columns, file, str(df["period"].max()), scale=1000.0)
    frame.attrs["warnings"] = warnings
    return frame
