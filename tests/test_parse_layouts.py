"""An unknown layout is a ParseError: no parser accepts another file's bytes or an unknown name."""

from __future__ import annotations

import pytest

from bot.data.parse import PARSERS, parse_file
from bot.errors import ParseError

TWINS = {frozenset({"mfhhis01.txt", "mfhhis01.csv"})}


@pytest.mark.parametrize("parser_name", sorted(PARSERS))
def test_no_parser_accepts_another_files_layout(real_bytes, parser_name: str):
    for other in sorted(PARSERS):
        if other == parser_name or frozenset({other, parser_name}) in TWINS:
            continue
        with pytest.raises(ParseError) as err:
            parse_file(parser_name, real_bytes(other))
        assert str(err.value).startswith(parser_name), (parser_name, other, str(err.value))


def test_unknown_file_name():
    with pytest.raises(ParseError, match="expected one of the known TIC files"):
        parse_file("slt_table9.txt", b"Country\t2026-04\r\n")


def test_binary_garbage():
    with pytest.raises(ParseError, match="expected a text file"):
        parse_file("slt_table5.txt", b"PK\x03\x04\x00\x00garbage")
