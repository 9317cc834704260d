"""What every Treasury parser shares: decoding, sniffing an HTML page, reading numbers and months,
checking totals and codes (the frame they return: :mod:`bot.data.parse.frame`)."""

from __future__ import annotations

import datetime
import functools
import io
import re

import numpy as np
import pandas as pd

from bot.data.entities import FOREIGN_OFFICIAL, OF_WHICH_ROWS, canonical_row, check_entity
from bot.errors import ParseError

_NUMBER = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_PLAIN = re.compile(r" *-?\d+(\.\d+)? *")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
MISSING = {"n.a.", "n.a", "na"}


def decode_lines(data: bytes, file: str) -> list[str]:
    """Bytes → lines (CRLF or LF); an empty body or an HTML page is a ParseError."""
    if not data or not data.strip():
        raise ParseError(file, None, "a non-empty file", "an empty body")
    head = data[:1024].lstrip().lower()
    if head.startswith(b"<") or b"<html" in head:  # a Treasury text file never starts with a tag
        raise ParseError(
            file,
            1,
            "a Treasury text file, not an HTML page (an error page served with status 200?)",
            data[:60].decode("latin-1").strip(),
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    if "\x00" in text:
        raise ParseError(file, None, "a text file", "binary data")
    # A doubled carriage return (a CRLF file passed through a text-mode copy) is one line end,
    # not a blank line: a blank line ends a table, so it would silently cut the data short.
    return text.replace("\r\r\n", "\n").splitlines()


def parse_value(cell: str, file: str, line: int, what: str) -> float:
    """A printed number (``1209.9``, ``"1,480"``, ``-37941``) → float; ``n.a.`` → NaN."""
    if _PLAIN.fullmatch(cell):  # the common case, checked before float() accepts "nan" or "1e5"
        return float(cell)
    text = cell.strip().strip('"').strip()
    if text.lower() in MISSING:
        return float("nan")
    if not _NUMBER.match(text):
        raise ParseError(file, line, f"a number for {what}", cell)
    return float(text.replace(",", ""))


@functools.lru_cache(maxsize=4096)
def _month(text: str) -> pd.Period | None:
    m = _MONTH.match(text.strip().strip('"'))
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return pd.Period(year=int(m.group(1)), month=int(m.group(2)), freq="M")


def _this_month() -> pd.Period:
    now = datetime.datetime.now(datetime.UTC)
    return pd.Period(year=now.year, month=now.month, freq="M")


def parse_month(cell: str, file: str, line: int) -> pd.Period:
    """``YYYY-MM`` → a monthly Period."""
    period = _month(cell)
    if period is None:
        raise ParseError(file, line, "a month as YYYY-MM", cell)
    return period


def long_table(
    lines: list[str],
    start: int,
    stop: int,
    file: str,
    usecols: list[int],
    names: list[str],
    delimiter: str = "\t",
    width: int | None = None,
) -> pd.DataFrame:
    """Data lines ``lines[start:stop]`` of a long-format file → a typed frame, checked whole.

    ``usecols`` picks the label, code, month and number columns (in that order) and ``names``
    names them. Months become Periods, numbers floats (``"1,480"`` → 1480; ``n.a.`` → NaN).
    A short line, a bad cell or a duplicate (code, month) is a ParseError naming its line;
    ``width`` is the number of cells a full line has (default: up to the last used column).
    """
    width = width or max(usecols) + 1
    text = "\n".join(lines[start:stop])
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            usecols=usecols,
            dtype={c: str for c in usecols[:3]},
            keep_default_na=False,
            na_values=sorted(MISSING),
            thousands=",",
            quotechar='"',
            engine="c",
        )
    except (ValueError, pd.errors.ParserError) as err:
        for n, line in enumerate(lines[start:stop], start=start):
            if len(line.split(delimiter)) < width:
                raise ParseError(file, n + 1, f"{width} cells", line) from err
        raise ParseError(file, start + 1, f"lines of {width} cells", str(err)) from err
    df.columns = names
    df["_line"] = np.arange(start + 1, start + 1 + len(df))
    # A missing cell (short line, empty cell) reads as ""; only "n.a." reads as NaN.
    short = pd.Series(False, index=df.index)
    for col in names:
        if df[col].dtype.kind not in "fi":  # checked on the distinct values: 40k rows, ~500 values
            blank = [v for v in df[col].unique() if isinstance(v, str) and not v.strip()]
            short |= df[col].isin(blank)
    if short.any():
        at = int(short.idxmax())
        raise ParseError(file, int(df.at[at, "_line"]), f"{width} cells", lines[start + at])
    months = {m: _month(m) for m in df[names[2]].unique()}
    bad = [m for m, p in months.items() if p is None]
    if bad:
        at = int((df[names[2]] == bad[0]).idxmax())
        raise ParseError(file, int(df.at[at, "_line"]), "a month as YYYY-MM", bad[0])
    future = [m for m, p in months.items() if p is not None and p > _this_month()]
    if future:
        at = int((df[names[2]] == future[0]).idxmax())
        raise ParseError(file, int(df.at[at, "_line"]), "a month not after the current one", future[0])
    ordinals = df.pop(names[2]).map({m: p.ordinal for m, p in months.items()})
    df["period"] = pd.PeriodIndex.from_ordinals(ordinals.to_numpy(), freq="M").array
    for col in names[3:]:
        if df[col].dtype.kind in "fi":  # every cell was a number (thousands commas allowed)
            df[col] = df[col].astype("float64")
            continue
        cells = df[col].fillna("n.a.").astype(str).str.strip().str.replace(",", "", regex=False)
        missing = cells.str.lower().isin(MISSING)
        values = pd.to_numeric(cells.where(~missing), errors="coerce")
        bad_cells = values.isna() & ~missing
        if bad_cells.any():
            at = int(bad_cells.idxmax())
            raise ParseError(
                file,
                int(df.at[at, "_line"]),
                f"a number for {col} of {df.at[at, names[0]].strip()}",
                df.at[at, col],
            )
        df[col] = values.astype("float64")
    dup = pd.DataFrame({"c": df[names[1]], "p": ordinals.to_numpy()}).duplicated()
    if dup.any():
        at = int(dup.idxmax())
        raise ParseError(
            file,
            int(df.at[at, "_line"]),
            f"one line per country and month ({df.at[at, names[0]].strip()})",
            f"duplicate month {df.at[at, 'period']}",
        )
    return df


def check_months_descending(months: list[pd.Period], file: str, line: int) -> None:
    """Header months must be newest first, one month apart, no duplicates."""
    seen: set[pd.Period] = set()
    for i, month in enumerate(months):
        if month in seen:
            raise ParseError(file, line, "each month once in the header", f"duplicate month {month}")
        seen.add(month)
        if i and months[i - 1] - month != 1 * months[i - 1].freq:
            raise ParseError(
                file,
                line,
                "header months newest first, one month apart",
                f"{months[i - 1]} followed by {month}",
            )


def check_total(
    parts: list[float],
    total: float,
    tolerance_per_cell: float,
    file: str,
    line: int,
    what: str,
) -> None:
    """The printed total must equal the sum of its printed parts within the rounding of each cell.

    Each printed cell is rounded to half a unit of its last digit, so the sum of n parts can
    miss the printed total by up to (n + 1) × tolerance_per_cell.
    """
    known = [p for p in parts if p == p]  # NaN ("n.a.") cells are not part of the sum
    if total != total:
        return
    gap = abs(sum(known) - total)
    allowed = (len(known) + 1) * tolerance_per_cell + 1e-9
    if gap > allowed:
        raise ParseError(
            file,
            line,
            f"{what} equal to the sum of its rows within ±{allowed:.2f} (rounding)",
            f"total {total:g}, rows sum to {sum(known):.1f}",
        )


def entity_warnings(df: pd.DataFrame, column: str, names: dict[str, str], file: str) -> list[str]:
    """Check each distinct label of a long table (see :func:`check_entity`); the warnings."""
    first = df.drop_duplicates(column).set_index(column)["_line"]
    warnings = []
    for label, entity in names.items():
        if (warning := check_entity(entity, label, file, int(first[label]))) is not None:
            warnings.append(warning)
    return warnings


def check_codes(df: pd.DataFrame, label: str, code: str, names: dict[str, str], file: str) -> None:
    """In a long table a country code and its name go together on every line (one name per code,
    one code per name): two swapped labels, or a label on the wrong line, break the pairing."""
    pairs = pd.DataFrame({"name": df[label].map(names), "code": df[code].str.strip(), "_line": df["_line"]})
    for key, other in (("code", "name"), ("name", "code")):
        firsts = pairs.drop_duplicates([key, other])
        dup = firsts[firsts.duplicated(key)]
        if len(dup):
            row = dup.iloc[0]
            seen = firsts[(firsts[key] == row[key])][other].iloc[0]
            raise ParseError(
                file,
                int(row["_line"]),
                f"one {other} per {key} ({key} {row[key]!r} is {seen!r} elsewhere)",
                f"{row[other]}",
            )


def mfh_row(
    label: str, key: str, of_which: bool, all_other: str, file: str, line: int, warnings: list[str]
) -> tuple[str, str]:
    """(entity, series) of a Major Foreign Holders row (mfhhis01, mfh.txt): "Of which:" rows are
    Foreign Official's split, "All Other" the file's own roster residual (``all_other``), anything
    else a known name (a new one adds a warning)."""
    if of_which and key in OF_WHICH_ROWS:
        return FOREIGN_OFFICIAL, OF_WHICH_ROWS[key]
    entity, series = canonical_row(label)
    if key == "all other":
        return all_other, series
    if (warning := check_entity(entity, label, file, line)) is not None:
        warnings.append(warning)
    return entity, series
