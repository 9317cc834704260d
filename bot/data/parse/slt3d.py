"""Legacy Table 3D (``slt3d_globl.csv``): Treasury holdings total/long/short term, 2011-09 → 2023-01, $mn."""

from __future__ import annotations

import re

import pandas as pd

from bot.data.entities import HOLDINGS, LT_HOLDINGS, ST_HOLDINGS, canonical_row
from bot.data.parse.common import check_codes, decode_lines, entity_warnings, long_table
from bot.data.parse.frame import tidy
from bot.errors import ParseError

FILE = "slt3d_globl.csv"
SERIES = (HOLDINGS, LT_HOLDINGS, ST_HOLDINGS)
_DATA = re.compile(r'^"[^"]+",\s*\d+,')


def parse_slt3d(data: bytes, file: str = FILE) -> pd.DataFrame:
    """Parse the legacy country holdings CSV into tidy rows in $bn."""
    lines = decode_lines(data, file)
    title = next((i for i, line in enumerate(lines) if "TABLE 3D" in line.upper()), None)
    if title is None:
        raise ParseError(
            file, None, "the title 'TABLE 3D: U.S. Treasury Securities Held by Foreign Residents'"
        )
    notes = next((i for i in range(title, len(lines)) if lines[i].strip('" ').startswith("Notes:")), None)
    if notes is None:
        raise ParseError(file, len(lines), "the 'Notes:' after the data (file truncated?)")
    first = next((i for i in range(title, notes) if _DATA.match(lines[i])), None)
    if first is None:
        raise ParseError(file, title + 1, "data lines (country, code, YYYY-MM, 3 values)")
    stop = next((i for i in range(first, notes) if not lines[i].strip('", ')), notes)
    late = next((i for i in range(stop, notes) if _DATA.match(lines[i])), None)
    if late is not None:
        raise ParseError(file, stop + 1, "no blank line inside the data (a stray line end?)", lines[late])
    df = long_table(
        lines, first, stop, file, [0, 1, 2, 3, 4, 5], ["country", "code", "month", *SERIES], delimiter=","
    )
    names = {n: canonical_row(n)[0] for n in df["country"].unique()}
    check_codes(df, "country", "code", names, file)
    warnings = entity_warnings(df, "country", names, file)
    frame = tidy(
        df, df["country"].map(names), {s: s for s in SERIES}, file, str(df["period"].max()), scale=1000.0
    )
    frame.attrs["warnings"] = warnings
    return frame
