"""Parsers for the Treasury's TIC files: bytes in, one tidy DataFrame out.

Every parser returns rows with the columns ``entity, series, period, value, source, vintage``;
values are billions of dollars as the Treasury prints them ($mn files are divided by 1000).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from bot.data.parse.form_s import parse_form_s
from bot.data.parse.mfh_legacy import parse_mfh_legacy
from bot.data.parse.mfhhis import Break, parse_mfhhis
from bot.data.parse.slt3d import parse_slt3d
from bot.data.parse.table1 import parse_table1
from bot.data.parse.table3 import parse_table3
from bot.data.parse.table5 import parse_table5
from bot.errors import ParseError


@dataclass
class ParsedFile:
    """One parsed Treasury file: its tidy rows, its vintage, series breaks and warnings."""

    name: str
    frame: pd.DataFrame
    vintage: str
    breaks: list[Break] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # the file's typed lines ($mn, every column), for the panel's cross-checks (SLT Table 1)
    lines: pd.DataFrame | None = None


def _frame_only(parser: Callable[[bytes, str], pd.DataFrame]) -> Callable[[bytes, str], ParsedFile]:
    def parse(data: bytes, name: str) -> ParsedFile:
        frame = parser(data, name)
        warnings = list(frame.attrs.get("warnings", []))
        return ParsedFile(name, frame, str(frame["vintage"].iloc[0]), warnings=warnings)

    return parse


def _history(data: bytes, name: str) -> ParsedFile:
    h = parse_mfhhis(data, name)
    return ParsedFile(name, h.frame, h.stamp, h.breaks, h.warnings)


def _table1(data: bytes, name: str) -> ParsedFile:
    t = parse_table1(data, name)
    return ParsedFile(name, t.frame, str(t.frame["vintage"].iloc[0]), warnings=t.warnings, lines=t.lines)


PARSERS: dict[str, Callable[[bytes, str], ParsedFile]] = {
    "slt_table5.txt": _frame_only(parse_table5),
    "mfhhis01.txt": _history,
    "mfhhis01.csv": _history,
    "mfh.txt": _frame_only(parse_mfh_legacy),
    "slt_table3.txt": _frame_only(parse_table3),
    "slt_table1.txt": _table1,
    "s1_globl.txt": _frame_only(parse_form_s),
    "slt3d_globl.csv": _frame_only(parse_slt3d),
}


def parse_file(name: str, data: bytes) -> ParsedFile:
    """Parse a Treasury file by its Treasury name; an unknown name is a ParseError."""
    try:
        parser = PARSERS[name]
    except KeyError:
        raise ParseError(name, None, "one of the known TIC files: " + ", ".join(PARSERS)) from None
    return parser(data, name)


__all__ = [
    "PARSERS",
    "Break",
    "ParsedFile",
    "parse_file",
    "parse_form_s",
    "parse_mfh_legacy",
    "parse_mfhhis",
    "parse_slt3d",
    "parse_table1",
    "parse_table3",
    "parse_table5",
]
