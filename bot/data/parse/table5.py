"""SLT Table 5, Major Foreign Holders (``slt_table5.txt``): 13 months, newest first, $bn."""

from __future__ import annotations

import pandas as pd

from bot.data.entities import (
    FOREIGN_OFFICIAL,
    GRAND_TOTAL,
    HOLDINGS,
    LT_HOLDINGS,
    ST_HOLDINGS,
    canonical_row,
    check_entity,
    normalize_label,
)
from bot.data.parse.common import check_months_descending, check_total, decode_lines, parse_month, parse_value
from bot.data.parse.frame import Rows
from bot.errors import ParseError

FILE = "slt_table5.txt"
ALL_OTHER = "All Other (Table 5 roster)"
TOLERANCE = 0.05  # each cell is printed to 0.1 $bn


def release_month(data: bytes, file: str = FILE) -> pd.Period:
    """The newest month on the ``Country`` line: the identity of a TIC release."""
    lines = decode_lines(data, file)
    _, months = _header(lines, file)
    return months[0]


def _header(lines: list[str], file: str) -> tuple[int, list[pd.Period]]:
    for i, line in enumerate(lines):
        cells = line.split("\t")
        if cells[0].strip().lower() == "country":
            months = [parse_month(c, file, i + 1) for c in cells[1:] if c.strip()]
            if not months:
                raise ParseError(file, i + 1, "months after 'Country'", line)
            check_months_descending(months, file, i + 1)
            return i, months
    raise ParseError(file, None, "a 'Country' header line with the months (YYYY-MM)")


def parse_table5(data: bytes, file: str = FILE) -> pd.DataFrame:
    """Parse Table 5 into tidy rows; checks Grand Total and the Foreign Official split."""
    lines = decode_lines(data, file)
    header, months = _header(lines, file)
    rows = Rows(source=file, vintage=str(months[0]))
    n = len(months)
    by_key: dict[tuple[str, str], tuple[int, list[float]]] = {}
    country_rows: list[list[float]] = []
    warnings: list[str] = []
    for i in range(header + 1, len(lines)):
        cells = lines[i].split("\t")
        label = cells[0]
        if not label.strip():
            break  # the blank line that ends the table
        values_cells = cells[1 : n + 1]
        if len(values_cells) < n or not all(c.strip() for c in values_cells):
            raise ParseError(file, i + 1, f"{n} values for {label.strip()!r}", lines[i])
        values = [parse_value(c, file, i + 1, f"{label.strip()} {m}") for c, m in zip(values_cells, months)]
        entity, series = canonical_row(label)
        if normalize_label(label) == "all other":
            entity = ALL_OTHER
        elif (warning := check_entity(entity, label, file, i + 1)) is not None:
            warnings.append(warning)
        if any(v < 0 for v in values):
            raise ParseError(file, i + 1, f"holdings >= 0 for {label.strip()!r}", lines[i])
        if (entity, series) in by_key:
            raise ParseError(file, i + 1, f"one row for {entity}", label)
        by_key[(entity, series)] = (i + 1, values)
        if entity not in (GRAND_TOTAL, FOREIGN_OFFICIAL):
            country_rows.append(values)
        for month, value in zip(months, values):
            rows.add(entity, series, month, value)
    for required in ((GRAND_TOTAL, HOLDINGS), (FOREIGN_OFFICIAL, HOLDINGS)):
        if required not in by_key:
            raise ParseError(file, None, f"a {required[0]!r} row (file truncated?)", f"{len(by_key)} rows")
    total_line, totals = by_key[(GRAND_TOTAL, HOLDINGS)]
    for j, month in enumerate(months):
        check_total(
            [r[j] for r in country_rows], totals[j], TOLERANCE, file, total_line, f"Grand Total {month}"
        )
    fo_line, fo = by_key[(FOREIGN_OFFICIAL, HOLDINGS)]
    if (FOREIGN_OFFICIAL, ST_HOLDINGS) in by_key and (FOREIGN_OFFICIAL, LT_HOLDINGS) in by_key:
        bills = by_key[(FOREIGN_OFFICIAL, ST_HOLDINGS)][1]
        bonds = by_key[(FOREIGN_OFFICIAL, LT_HOLDINGS)][1]
        for j, month in enumerate(months):
            check_total([bills[j], bonds[j]], fo[j], TOLERANCE, file, fo_line, f"Foreign Official {month}")
    frame = rows.frame()
    frame.attrs["warnings"] = warnings
    return frame
