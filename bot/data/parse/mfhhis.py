"""MFH history (``mfhhis01.txt`` and its comma-delimited twin ``mfhhis01.csv``), 2000 → last full year, $bn.

One block per year, newest first. A block is: optional series-break marker lines, a line of
month names, a ``Country`` line of years, a dashes line, country rows down to ``Grand Total``,
then ``Of which:`` and the Foreign Official rows. A series break shows the break month twice:
the first column is the continuing series, the second the old series "for comparison only".
The continuing value is the entity's ``holdings``; the old one is kept as ``holdings_prior``
so a change across the break can be chained on matching columns. A break marked without a
repeated month (December 2011) has no comparison value: changes across it are unknown.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

import pandas as pd

from bot.data.entities import (
    FOREIGN_OFFICIAL,
    GRAND_TOTAL,
    HOLDINGS,
    HOLDINGS_PRIOR,
    LT_HOLDINGS,
    ST_HOLDINGS,
    normalize_label,
)
from bot.data.parse.common import check_total, decode_lines, mfh_row, parse_value
from bot.data.parse.frame import Rows
from bot.errors import ParseError

ALL_OTHER = "All Other (MFH history roster)"
TOLERANCE = 0.05  # cells are printed to 0.1 $bn (some blocks drop a trailing .0)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], start=1
    )
}
_STAMP = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$")


@dataclass(frozen=True)
class Break:
    """A series break: from ``period`` on the data come from a new series."""

    period: pd.Period
    label: str
    comparable: bool  # True when the old series' value for the break month is printed


@dataclass
class MfhHistory:
    """The parsed history: tidy frame, the series breaks, and the footer stamp (the vintage)."""

    frame: pd.DataFrame
    breaks: list[Break] = field(default_factory=list)
    stamp: str = ""
    warnings: list[str] = field(default_factory=list)


def parse_mfhhis(data: bytes, file: str = "mfhhis01.txt") -> MfhHistory:
    """Parse the tab- (``.txt``) or comma- (``.csv``) delimited MFH history."""
    lines = decode_lines(data, file)
    delimiter = "," if file.endswith(".csv") else "\t"
    try:
        table = list(csv.reader(lines, delimiter=delimiter, quotechar='"'))
    except csv.Error as err:  # e.g. a cell over the csv module's field limit (131,072 characters)
        raise ParseError(file, None, "cells of a Treasury table", str(err)) from err
    stamp = _footer_stamp(table, file)
    rows = Rows(source=file, vintage=stamp)
    breaks: list[Break] = []
    warnings: list[str] = []
    seen_months: set[pd.Period] = set()
    i = 0
    blocks = 0
    while i < len(table):
        cells = table[i]
        if _is_month_line(cells):
            i = _parse_block(table, i, file, rows, breaks, warnings, seen_months)
            blocks += 1
        elif cells and cells[0].strip().lower() == "country":
            raise ParseError(file, i + 1, "a line of month names above the 'Country' line", lines[i])
        else:
            i += 1
    if blocks == 0:
        raise ParseError(file, None, "year blocks headed by month names and a 'Country' line")
    return MfhHistory(
        frame=rows.frame(), breaks=sorted(breaks, key=lambda b: b.period), stamp=stamp, warnings=warnings
    )


def _is_month_line(cells: list[str]) -> bool:
    names = [c.strip().lower() for c in cells[1:] if c.strip()]
    return bool(names) and not cells[0].strip() and all(n in _MONTHS for n in names)


def _footer_stamp(table: list[list[str]], file: str) -> str:
    for i, cells in enumerate(table):
        if cells and cells[0].strip().startswith("Department of the Treasury"):
            nxt = table[i + 1][0].strip() if i + 1 < len(table) and table[i + 1] else ""
            m = _STAMP.match(nxt)
            if not m:
                raise ParseError(file, i + 2, "the footer date stamp (M/D/YYYY)", nxt)
            month, day, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
            year = year + 2000 if year < 100 else year
            return f"{year:04d}-{month:02d}-{day:02d}"
    raise ParseError(
        file,
        None,
        "the footer 'Department of the Treasury/Federal Reserve Board' and its date stamp (file truncated?)",
    )


def _parse_block(
    table: list[list[str]],
    i: int,
    file: str,
    rows: Rows,
    breaks: list[Break],
    warnings: list[str],
    seen_months: set[pd.Period],
) -> int:
    """Parse one year block whose month-name line is table[i]; return the next line index."""
    month_cells = table[i][1:]
    country = table[i + 1] if i + 1 < len(table) else []
    if not country or country[0].strip().lower() != "country":
        raise ParseError(file, i + 2, "a 'Country' line of years under the month names", "\t".join(country))
    names = [c.strip().lower() for c in month_cells]
    width = len([n for n in names if n])
    years = [c.strip() for c in country[1 : width + 1]]
    if len(years) < width or not all(y.isdigit() for y in years):
        raise ParseError(file, i + 2, f"{width} years on the 'Country' line", "\t".join(country))
    periods = [pd.Period(year=int(y), month=_MONTHS[n], freq="M") for n, y in zip(names, years)]
    # Column roles: continuing (holdings) or old series at a break (holdings_prior).
    roles = [HOLDINGS] * width
    marks = _break_marks(table, i, width)
    for j in range(width):
        if j and periods[j] == periods[j - 1]:
            if marks.get(j - 1) is None:
                raise ParseError(
                    file,
                    i + 1,
                    "each month once, unless marked as a series break",
                    f"duplicate month {periods[j]}",
                )
            roles[j] = HOLDINGS_PRIOR
        elif j and periods[j - 1] - periods[j] != 1 * periods[j].freq:
            raise ParseError(
                file,
                i + 1,
                "months newest first, one month apart",
                f"{periods[j - 1]} followed by {periods[j]}",
            )
    for j, label in marks.items():
        if label is not None:
            comparable = j + 1 < width and periods[j + 1] == periods[j]
            breaks.append(Break(periods[j], label, comparable))
    for j, p in enumerate(periods):
        if roles[j] == HOLDINGS:
            if p in seen_months:
                raise ParseError(file, i + 2, "each month in one block only", f"duplicate month {p}")
            seen_months.add(p)

    start = i + 2
    if start < len(table) and table[start] and set(table[start][1].strip()) == {"-"}:
        start += 1
    of_which = False
    country_rows: list[list[float]] = []
    total: tuple[int, list[float]] | None = None
    fo_seen = False
    fo_rows: dict[str, tuple[int, list[float]]] = {}
    j = start
    while j < len(table):
        cells = table[j]
        label = cells[0] if cells else ""
        key = normalize_label(label)
        values_cells = cells[1 : width + 1]
        if not key:
            if _is_month_line(cells) or (fo_seen and total):
                break
            j += 1
            continue
        if key.startswith("department of the treasury") or (fo_seen and key.startswith("*")):
            break
        if key == "of which:":
            of_which = True
            j += 1
            continue
        if len(values_cells) < width or not all(c.strip() for c in values_cells):
            raise ParseError(
                file, j + 1, f"{width} values for {label.strip()!r}", "\t".join(cells[: width + 1])
            )
        values = [parse_value(c, file, j + 1, f"{label.strip()} {p}") for c, p in zip(values_cells, periods)]
        entity, series = mfh_row(label, key, of_which, ALL_OTHER, file, j + 1, warnings)
        if entity == GRAND_TOTAL:
            total = (j + 1, values)
        elif entity == FOREIGN_OFFICIAL:
            fo_seen = True
            fo_rows[series] = (j + 1, values)
        else:
            if total is not None:
                raise ParseError(file, j + 1, "country rows above 'Grand Total'", label)
            country_rows.append(values)
        for col, (p, v) in enumerate(zip(periods, values)):
            rows.add(entity, series if roles[col] == HOLDINGS else _prior(series), p, v)
        j += 1
    if total is None:
        raise ParseError(file, j, f"a 'Grand Total' row in the {periods[0].year} block (file truncated?)")
    if not fo_seen:
        raise ParseError(
            file, j, f"the Foreign Official rows in the {periods[0].year} block (file truncated?)"
        )
    for col, p in enumerate(periods):
        try:
            check_total(
                [r[col] for r in country_rows], total[1][col], TOLERANCE, file, total[0], f"Grand Total {p}"
            )
        except ParseError as err:
            if roles[col] == HOLDINGS:
                raise
            # The old-series column is printed "for comparison only"; the Treasury's own
            # June 2006 comparison column misses its rows by 2.5. Report it, don't reject the file.
            warnings.append(f"{err} (old-series comparison column, kept as printed)")
    check_official_split(fo_rows, periods, file)
    return j


def check_official_split(
    fo_rows: dict[str, tuple[int, list[float]]], periods: list[pd.Period], file: str
) -> None:
    """Foreign Official holdings = bills + bonds & notes, each within (2 + 1) × 0.05 $bn of
    rounding, and no holdings figure is negative."""
    for _series, (line, values) in fo_rows.items():
        for p, v in zip(periods, values):
            if v < 0:
                raise ParseError(file, line, f"Foreign Official holdings >= 0 for {p}", f"{v:g}")
    if HOLDINGS in fo_rows and ST_HOLDINGS in fo_rows and LT_HOLDINGS in fo_rows:
        line, total = fo_rows[HOLDINGS]
        for col, p in enumerate(periods):
            parts = [fo_rows[ST_HOLDINGS][1][col], fo_rows[LT_HOLDINGS][1][col]]
            check_total(parts, total[col], TOLERANCE, file, line, f"Foreign Official {p} (bills + bonds)")


def _prior(series: str) -> str:
    return HOLDINGS_PRIOR if series == HOLDINGS else f"{series}_prior"


def _break_marks(table: list[list[str]], i: int, width: int) -> dict[int, str | None]:
    """Columns marked ``Series N/`` in the two lines above the month names → the new series label."""
    marks: dict[int, str | None] = {}
    if i < 2:
        return marks
    top, roman = table[i - 2], table[i - 1]
    for j in range(width):
        cell = top[j + 1].strip() if j + 1 < len(top) else ""
        if re.match(r"^Series\s+\d+/$", cell):
            name = roman[j + 1].strip() if j + 1 < len(roman) else ""
            marks[j] = f"Series {name}".strip()
    return marks
