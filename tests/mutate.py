"""Small, realistic mutations of a real Treasury file, seeded (issue 9: never a wrong alert from a
bad file). Used by the tests and by bench/fuzz.py; the real files are read by path, never copied.

Every mutation works on lines with their own line ends, so a CRLF file stays CRLF except where the
mutation is about line ends. :func:`mutants` yields ``(kind, bytes)``; a mutation that finds
nothing to change in a file returns the bytes unchanged and is skipped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterator

_NUMBER = re.compile(rb"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")  # one whole cell
_MONTH = re.compile(rb"\b(\d{4})-(0[1-9]|1[0-2])\b")
_WORD = re.compile(rb"[A-Za-z][A-Za-z ,.'&-]*[A-Za-z]")


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _sep(name: str) -> bytes | None:
    if name.endswith(".csv"):
        return b","
    if name == "mfh.txt":
        return None  # whitespace-aligned columns
    return b"\t"


def numbers(line: bytes, name: str) -> list[tuple[int, int]]:
    """(start, end) of each cell of a line that is a number (quotes and spaces excluded)."""
    out = []
    for a, b in _cells(line, _sep(name)):
        cell = line[a:b]
        stripped = cell.strip().strip(b'"')
        if stripped and _NUMBER.fullmatch(stripped):
            k = a + cell.index(stripped)
            out.append((k, k + len(stripped)))
    return out


def data_lines(lines: list[bytes], name: str) -> list[int]:
    """Indexes of lines that carry at least three numbers (table rows)."""
    return [i for i, line in enumerate(lines) if len(numbers(line, name)) >= 3]


def _cells(line: bytes, sep: bytes | None) -> list[tuple[int, int]]:
    """(start, end) of each cell of a line: separated by ``sep`` outside quotes, or runs of non-space."""
    body = line.rstrip(b"\r\n")
    if sep is None:
        return [m.span() for m in re.finditer(rb"\S+", body)]
    spans, start, quoted = [], 0, False
    for k, c in enumerate(body):
        if c == ord('"'):
            quoted = not quoted
        elif c == sep[0] and not quoted:
            spans.append((start, k))
            start = k + 1
    spans.append((start, len(body)))
    return spans


def _replace(line: bytes, span: tuple[int, int], new: bytes) -> bytes:
    return line[: span[0]] + new + line[span[1] :]


def byte_flip(data: bytes, name: str, rng: random.Random) -> bytes:
    b = bytearray(data)
    i = rng.randrange(len(b))
    b[i] = rng.choice(b"0123456789-.,\t x/")
    return bytes(b)


def truncate(data: bytes, name: str, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) // 4, len(data))]


def drop_row(data: bytes, name: str, rng: random.Random) -> bytes:
    lines = lines_of(data)
    rows = data_lines(lines, name)
    del lines[rng.choice(rows)]
    return b"".join(lines)


def duplicate_row(data: bytes, name: str, rng: random.Random) -> bytes:
    lines = lines_of(data)
    i = rng.choice(data_lines(lines, name))
    lines.insert(i, lines[i])
    return b"".join(lines)


def shuffle_rows(data: bytes, name: str, rng: random.Random) -> bytes:
    lines = lines_of(data)
    rows = data_lines(lines, name)
    i, j = rng.sample(rows, 2)
    lines[i], lines[j] = lines[j], lines[i]
    return b"".join(lines)


def swap_cells(data: bytes, name: str, rng: random.Random) -> bytes:
    """Two value cells of one row swapped."""
    lines = lines_of(data)
    i = rng.choice(data_lines(lines, name))
    spans = numbers(lines[i], name)
    if len(spans) < 2:
        return data
    a, b = sorted(rng.sample(spans, 2))
    line = lines[i]
    lines[i] = line[: a[0]] + line[b[0] : b[1]] + line[a[1] : b[0]] + line[a[0] : a[1]] + line[b[1] :]
    return b"".join(lines)


def swap_month_columns(data: bytes, name: str, rng: random.Random) -> bytes:
    """Two columns swapped in every row of a table block (the header kept): wide tables only."""
    if name not in ("slt_table5.txt", "mfhhis01.txt", "mfhhis01.csv", "mfh.txt"):
        return swap_cells(data, name, rng)
    lines = lines_of(data)
    rows = set(data_lines(lines, name))
    start = rng.choice(sorted(rows))
    while start - 1 in rows or (start - 2 in rows and not lines[start - 1].strip()):
        start -= 1  # back to the first row of the table block (a blank line may sit inside)
    block = []
    i = start
    while i in rows or (i + 1 in rows and not lines[i].strip()):
        if i in rows:
            block.append(i)
        i += 1
    width = min(len(_cells(lines[i], _sep(name))) for i in block)
    if width < 3:
        return data
    a, b = sorted(rng.sample(range(1, width), 2))
    for i in block:
        spans = _cells(lines[i], _sep(name))
        line = lines[i]
        sa, sb = spans[a], spans[b]
        lines[i] = (
            line[: sa[0]] + line[sb[0] : sb[1]] + line[sa[1] : sb[0]] + line[sa[0] : sa[1]] + line[sb[1] :]
        )
    return b"".join(lines)


def _label_span(line: bytes) -> tuple[int, int] | None:
    m = _WORD.search(line)
    return m.span() if m and m.start() < 4 else None


def swap_labels(data: bytes, name: str, rng: random.Random) -> bytes:
    """The labels of two rows swapped (their figures stay)."""
    lines = lines_of(data)
    rows = [i for i in data_lines(lines, name) if _label_span(lines[i])]
    if len(rows) < 2:
        return data
    i, j = rng.sample(rows, 2)
    si, sj = _label_span(lines[i]), _label_span(lines[j])
    li, lj = lines[i][si[0] : si[1]], lines[j][sj[0] : sj[1]]  # type: ignore[index]
    if name == "mfh.txt":  # keep the fixed-width columns aligned
        w = max(len(li), len(lj))
        li, lj = li.ljust(w), lj.ljust(w)
        si, sj = (si[0], si[0] + w), (sj[0], sj[0] + w)  # type: ignore[index]
    lines[i], lines[j] = _replace(lines[i], si, lj), _replace(lines[j], sj, li)  # type: ignore[arg-type]
    return b"".join(lines)


def scale_number(data: bytes, name: str, rng: random.Random) -> bytes:
    """One figure multiplied by 10 or 11, printed like its neighbours."""
    lines = lines_of(data)
    i = rng.choice(data_lines(lines, name))
    span = rng.choice(numbers(lines[i], name))
    text = lines[i][span[0] : span[1]].decode()
    decimals = len(text.split(".")[1]) if "." in text else 0
    value = float(text.replace(",", "")) * rng.choice((10, 11))
    new = f"{value:,.{decimals}f}" if "," in text else f"{value:.{decimals}f}"
    if "," in new and _sep(name) == b"," and lines[i][span[0] - 1 : span[0]] != b'"':
        new = new.replace(",", "")  # an unquoted csv cell has no thousands commas
    lines[i] = _replace(lines[i], span, new.encode())
    return b"".join(lines)


def label_typo(data: bytes, name: str, rng: random.Random) -> bytes:
    """A stray character in, or one letter dropped from, a row label."""
    lines = lines_of(data)
    rows = [i for i in data_lines(lines, name) if _label_span(lines[i])]
    i = rng.choice(rows)
    s = _label_span(lines[i])
    label = lines[i][s[0] : s[1]]  # type: ignore[index]
    k = rng.randrange(1, len(label))
    how = rng.randrange(3)
    if how == 0:
        new = label[:k] + "–".encode() + label[k:]
    elif how == 1:
        new = label[:k] + label[k + 1 :]
    else:
        new = label[:k] + bytes([rng.choice(b"abcdefghijklmnopqrstuvwxyz")]) + label[k + 1 :]
    lines[i] = _replace(lines[i], s, new)  # type: ignore[arg-type]
    return b"".join(lines)


def doubled_cr(data: bytes, name: str, rng: random.Random) -> bytes:
    return data.replace(b"\r\n", b"\r\r\n") if b"\r\n" in data else data.replace(b"\n", b"\r\r\n")


def future_date(data: bytes, name: str, rng: random.Random) -> bytes:
    """A slipped digit in a date: 2014-08 → 2114-08 (or a year on a header line)."""
    months = list(_MONTH.finditer(data))
    if months:
        m = rng.choice(months)
        year = int(m.group(1)) + 100
        return data[: m.start(1)] + str(year).encode() + data[m.end(1) :]
    years = list(re.finditer(rb"\b(19|20)\d\d\b", data))
    if not years:
        return data
    m = rng.choice(years)
    return data[: m.start()] + str(int(m.group()) + 100).encode() + data[m.end() :]


MUTATIONS: dict[str, Callable[[bytes, str, random.Random], bytes]] = {
    "byte_flip": byte_flip,
    "truncate": truncate,
    "drop_row": drop_row,
    "duplicate_row": duplicate_row,
    "shuffle_rows": shuffle_rows,
    "swap_cells": swap_cells,
    "swap_month_columns": swap_month_columns,
    "swap_labels": swap_labels,
    "scale_number": scale_number,
    "label_typo": label_typo,
    "doubled_cr": doubled_cr,
    "future_date": future_date,
}


def mutants(data: bytes, name: str, count: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """``count`` mutants of a file, kinds in turn, each one changed (seeded: same seed, same mutants)."""
    rng = random.Random(f"{seed}:{name}")
    kinds = list(MUTATIONS)
    made, tries = 0, 0
    while made < count and tries < count * 5:
        kind = kinds[tries % len(kinds)]
        tries += 1
        out = MUTATIONS[kind](data, name, rng)
        if out != data:
            made += 1
            yield kind, out
