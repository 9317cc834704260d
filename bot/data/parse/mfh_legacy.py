"""Legacy fixed-width MFH (``mfh.txt``): 13 months to January 2023, $bn; frozen since March 2023."""

from __future__ import annotations

import re
from datetime import datetime

import pandas as pd

from bot.data.entities import (
    FOREIGN_OFFICIAL,
    GRAND_TOTAL,
    normalize_label,
)
from bot.data.parse.common import check_months_descending, check_total, decode_lines, mfh_row, parse_value
from bot.data.parse.frame import Rows
from bot.data.parse.mfhhis import check_official_split
from bot.errors import ParseError

FILE = "mfh.txt"
ALL_OTHER = "All Other (mfh.txt roster)"
TOLERANCE = 0.05
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_VALUE = re.compile(r"-?[\d.,]+|n\.a\.")  # one whitespace-free token: no backtracking


def parse_mfh_legacy(data: bytes, file: str = FILE) -> pd.DataFrame:
    """Parse the fixed-width table; rows are matched by label, numbers by their position in the row."""
    lines = decode_lines(data, file)
    header = next((i for i, line in enumerate(lines) if line.split()[:1] == ["Country"]), None)
    if header is None or header == 0:
        raise ParseError(file, None, "a line of month names above a 'Country' line of years")
    names = lines[header - 1].lower().split()
    years = lines[header].split()[1:]
    if (
        len(names) != len(years)
        or not names
        or any(n not in _MONTHS for n in names)
        or not all(y.isdigit() for y in years)
    ):
        raise ParseError(file, header + 1, "month names over years", lines[header])
    months = [pd.Period(year=int(y), month=_MONTHS[n], freq="M") for n, y in zip(names, years)]
    check_months_descending(months, file, header + 1)
    stamp = _stamp(lines, file)
    rows = Rows(source=file, vintage=stamp)
    of_which = False
    country_rows: list[list[float]] = []
    total: tuple[int, list[float]] | None = None
    fo_rows: dict[str, tuple[int, list[float]]] = {}
    warnings: list[str] = []
    for i in range(header + 1, len(lines)):
        line = lines[i].rstrip()
        key = normalize_label(line)
        if not key or set(key) <= {"-", " "}:
            if total is not None and of_which:
                break
            continue
        if key == "of which:":
            of_which = True
            continue
        if key.startswith("department of the treasury"):
            break
        label, values_cells = _split_row(line, len(months))
        if values_cells is None:
            raise ParseError(file, i + 1, f"a label and {len(months)} values", line)
        values = [parse_value(c, file, i + 1, f"{label.strip()} {p}") for c, p in zip(values_cells, months)]
        lkey = normalize_label(label)
        entity, series = mfh_row(label, lkey, of_which, ALL_OTHER, file, i + 1, warnings)
        if entity == GRAND_TOTAL:
            total = (i + 1, values)
        elif entity == FOREIGN_OFFICIAL:
            fo_rows[series] = (i + 1, values)
        else:
            country_rows.append(values)
        for p, v in zip(months, values):
            rows.add(entity, series, p, v)
    if total is None:
        raise ParseError(file, None, "a 'Grand Total' row (file truncated?)")
    for j, p in enumerate(months):
        check_total([r[j] for r in country_rows], total[1][j], TOLERANCE, file, total[0], f"Grand Total {p}")
    check_official_split(fo_rows, months, file)
    frame = rows.frame()
    frame.attrs["warnings"] = warnings
    return frame


def _split_row(line: str, n: int) -> tuple[str, list[str] | None]:
    """A row → (label, its last ``n`` tokens), or None when it is not a label and n values.

    Linear in the line (``str.rsplit``, then one full match per token): the regex this replaces
    backtracked exponentially on one odd token (``-`` for zero, a ``2/`` footnote mark).
    """
    parts = line.rsplit(None, n)
    if len(parts) != n + 1 or not parts[0].strip():
        return "", None
    label, cells = parts[0], parts[1:]
    last_label_token = label.split()[-1]
    if not all(_VALUE.fullmatch(c) for c in cells) or _VALUE.fullmatch(last_label_token):
        return "", None  # an odd token among the values, or one value too many
    return label, cells


def _stamp(lines: list[str], file: str) -> str:
    for i, line in enumerate(lines):
        if line.strip().startswith("Department of the Treasury") and i + 1 < len(lines):
            try:
                return datetime.strptime(lines[i + 1].strip(), "%B %d, %Y").date().isoformat()
            except ValueError as err:
                raise ParseError(file, i + 2, "the date stamp, e.g. 'March 15, 2023'", lines[i + 1]) from err
    raise ParseError(
        file, None, "the footer 'Department of the Treasury/Federal Reserve Board' (file truncated?)"
    )
