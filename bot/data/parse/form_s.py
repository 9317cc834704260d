"""Form S history (``s1_globl.txt``): gross purchases and sales by country, 1977 → 2023-01, $mn.

Net purchases of Treasury bonds & notes by foreigners = column [1] (gross purchases) − column [7]
(gross sales). The file is frozen: the Form S series ended with January 2023 data.
"""

from __future__ import annotations

import pandas as pd

from bot.data.entities import LT_NET, canonical_name
from bot.data.parse.common import check_codes, decode_lines, entity_warnings, long_table, tidy
from bot.errors import ParseError

FILE = "s1_globl.txt"
GRAND_TOTAL_CODE = "99996"
HEADER = ["name", "code", "month", *(f"[{n}]" for n in range(1, 13))]


def parse_form_s(data: bytes, file: str = FILE) -> pd.DataFrame:
    """Parse Form S into ``lt_net`` ($bn) per country and month."""
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
    df = long_table(
        lines, start, stop, file, [0, 1, 2, 3, 9], ["name", "code", "month", "[1]", "[7]"], width=len(HEADER)
    )
    months = df["period"].array.asi8
    total_codes = [c for c in df["code"].unique() if c.strip() == GRAND_TOTAL_CODE]
    total_months = set(months[df["code"].isin(total_codes).to_numpy()])
    missing = sorted(set(months) - total_months)
    if missing:
        first = pd.PeriodIndex.from_ordinals([missing[0]], freq="M")[0]
        raise ParseError(file, None, f"a Grand Total line for every month, none for {first} (truncated?)")
    df["lt_net"] = df["[1]"] - df["[7]"]
    names_map = {n: canonical_name(n) for n in df["name"].unique()}
    check_codes(df, "name", "code", names_map, file)
    warnings = entity_warnings(df, "name", names_map, file)
    frame = tidy(
        df, df["name"].map(names_map), {"lt_net": LT_NET}, file, str(df["period"].max()), scale=1000.0
    )
    frame.attrs["warnings"] = warnings
    return frame
