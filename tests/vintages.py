"""Derive older vintages and revisions of the real Treasury files, at test time, by rule.

Nothing here is a fixture on disk: every function takes the real bytes and returns new bytes,
so the derived files keep the Treasury's layout quirks (CRLF, tab padding, notes).
"""

from __future__ import annotations

import re

CRLF = b"\r\n"


def _lines(data: bytes) -> tuple[list[bytes], bytes]:
    eol = CRLF if CRLF in data else b"\n"
    return data.split(eol), eol


def table5_without_newest(data: bytes, months: int = 1) -> bytes:
    """slt_table5.txt as it was ``months`` releases earlier: drop the newest month columns."""
    lines, eol = _lines(data)
    out, in_table = [], False
    for line in lines:
        cells = line.split(b"\t")
        if cells[0].strip() == b"Country":
            in_table = True
        if in_table and cells[0].strip():
            cells = [cells[0], *cells[1 + months :], *([b""] * months)]  # keep the tab padding
        elif in_table:
            in_table = False
        out.append(b"\t".join(cells))
    return eol.join(out)


def table3_without_newest(data: bytes, months: int = 1) -> bytes:
    """slt_table3.txt as it was ``months`` releases earlier: drop the rows of the newest months."""
    lines, eol = _lines(data)
    header = next(i for i, line in enumerate(lines) if line.split(b"\t")[0] == b"country")
    dates = sorted({ln.split(b"\t")[2] for ln in lines[header + 1 :] if ln.split(b"\t")[0].strip()})
    drop = set(dates[-months:])
    kept = [
        ln
        for i, ln in enumerate(lines)
        if i <= header or not ln.split(b"\t")[0].strip() or ln.split(b"\t")[2] not in drop
    ]
    return eol.join(kept)


def table5_revised(data: bytes, country: bytes = b"Japan", delta: float = 0.1) -> bytes:
    """A republication of the same release: ``country`` and Grand Total one month back moved by delta."""
    lines, eol = _lines(data)
    out = []
    for line in lines:
        cells = line.split(b"\t")
        if cells[0].strip() in (country, b"Grand Total") and len(cells) > 2:
            cells[2] = f"{float(cells[2]) + delta:.1f}".encode()
        out.append(b"\t".join(cells))
    return eol.join(out)


def mfhhis_restamped(data: bytes, month: int, day: int, year: int) -> bytes:
    """mfhhis01.txt with another footer date stamp (as a later edition carries)."""
    lines, eol = _lines(data)
    for i, line in enumerate(lines):
        if line.split(b"\t")[0].strip().startswith(b"Department of the Treasury"):
            lines[i + 1] = re.sub(
                rb"^\d{1,2}/\d{1,2}/\d{2,4}", f"{month}/{day}/{year}".encode(), lines[i + 1]
            )
            return eol.join(lines)
    raise ValueError("no footer stamp")


def cut_mid_table(data: bytes) -> bytes:
    """A body cut off in the middle of the table (a half-written upload)."""
    lines, eol = _lines(data)
    header = next(i for i, ln in enumerate(lines) if ln.split(b"\t")[0].strip().lower() == b"country")
    cut = eol.join(lines[: header + 4]) + eol + lines[header + 4][:9]
    return cut
