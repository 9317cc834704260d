"""The data block of the SLT long tables (Tables 1 and 3): one line per country and month after
the column-name line, up to the blank line before the notes."""

from __future__ import annotations

import pandas as pd

from bot.data.parse.common import long_table
from bot.errors import ParseError


def slt_block(lines: list[str], header: int, file: str, columns: list[str]) -> tuple[pd.DataFrame, pd.Series]:
    """The data lines of an SLT long table (Tables 1 and 3: one line per country and month, after
    the column-name line, up to the blank line before the notes) as :func:`long_table` reads them,
    and their country codes, checked numeric."""
    start = header + 1
    stop = next((i for i in range(start, len(lines)) if not lines[i].split("\t", 1)[0].strip()), None)
    if stop is None:
        raise ParseError(file, len(lines), "a blank line and the notes after the data (truncated?)")
    if stop == start:
        raise ParseError(file, start + 1, "data lines after the column names")
    df = long_table(lines, start, stop, file, list(range(len(columns))), columns)
    codes = df["country_code"].str.strip()
    if not codes.str.isdigit().all():
        at = int((~codes.str.isdigit()).idxmax())
        raise ParseError(file, int(df.at[at, "_line"]), "a numeric country code", codes[at])
    return df, codes
