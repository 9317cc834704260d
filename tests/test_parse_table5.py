"""SLT Table 5: real-file figures and every kind of bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.data.parse.table5 import parse_table5, release_month
from bot.errors import ParseError

CRLF = "\r\n"


def table5(rows: dict[str, list[str]], months: list[str] | None = None) -> bytes:
    """A small Table 5 in the Treasury's layout (tabs, CRLF, padded title lines)."""
    months = months or ["2026-04", "2026-03", "2026-02"]
    pad = "\t" * len(months)
    lines = [
        f"Table 5: Major Foreign Holders of Treasury Securities{pad}",
        f"Billions of dollars{pad}",
        pad,
        "Country\t" + "\t".join(months),
    ]
    lines += [label + "\t" + "\t".join(values) for label, values in rows.items()]
    lines += [pad, f"Notes:{pad}"]
    return (CRLF.join(lines) + CRLF).encode()


GOOD = {
    "Japan": ["100.0", "90.0", "80.0"],
    "China, Mainland": ["50.0", "60.0", "70.0"],
    "United Kingdom 2/": ["30.0", "30.0", "30.0"],
    "All Other": ["20.0", "20.0", "20.0"],
    "Grand Total": ["200.0", "200.0", "200.0"],
    "Of Which: Foreign Official": ["80.0", "80.0", "80.0"],
    "Of Which: Foreign Official Treasury Bills": ["10.0", "10.0", "10.0"],
    "Of Which: Foreign Official T-Bonds & Notes": ["70.0", "70.0", "70.0"],
}


def value(df: pd.DataFrame, entity: str, month: str, series: str = "holdings") -> float:
    hit = df[(df.entity == entity) & (df.series == series) & (df.period == pd.Period(month, "M"))]
    assert len(hit) == 1, (entity, month, series)
    return float(hit.value.iloc[0])


def test_real_file_figures(real_bytes):
    df = parse_table5(real_bytes("slt_table5.txt"))
    assert value(df, "Japan", "2026-04") == 1209.9
    assert value(df, "Grand Total", "2026-04") == 9352.6
    assert value(df, "Foreign Official", "2026-04") == 3906.5
    assert value(df, "Foreign Official", "2026-04", "st_holdings") == 457.3
    assert value(df, "Foreign Official", "2026-04", "lt_holdings") == 3449.2
    assert value(df, "Korea, South", "2025-04") == 121.7
    assert df.period.nunique() == 13
    assert set(df.vintage) == {"2026-04"}
    assert release_month(real_bytes("slt_table5.txt")) == pd.Period("2026-04", "M")


def test_small_table_labels_are_canonical():
    df = parse_table5(table5(GOOD))
    assert value(df, "United Kingdom", "2026-03") == 30.0
    assert "All Other (Table 5 roster)" in set(df.entity)
    assert len(df) == 8 * 3


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "expected a non-empty file"),
        (b"<!DOCTYPE html><html><body>Service Unavailable</body></html>", "not an HTML page"),
        (b"\r\n  <html><head><title>Error</title></head></html>", "not an HTML page"),
        (table5(GOOD).replace(b"Country\t", b"Nation\t"), "a 'Country' header line"),
        (table5(GOOD, ["2026-04", "2026-02", "2026-03"]), "header months newest first, one month apart"),
        (table5(GOOD, ["2026-04", "2026-04", "2026-03"]), "duplicate month 2026-04"),
        (table5(GOOD, ["2026-04", "2026-13", "2026-02"]), "a month as YYYY-MM"),
        (table5({**GOOD, "Japan": ["100.0", "9O.0", "80.0"]}), "a number for Japan 2026-03"),
        (table5({**GOOD, "Japan": ["100.0", "90.0"]}), "3 values for 'Japan'"),
        (
            table5({k: v for k, v in GOOD.items() if k != "Grand Total"}),
            "a 'Grand Total' row (file truncated?)",
        ),
        (
            table5({**GOOD, "Grand Total": ["200.0", "210.0", "200.0"]}),
            "Grand Total 2026-03 equal to the sum of its rows",
        ),
        (
            table5({**GOOD, "Of Which: Foreign Official Treasury Bills": ["10.0", "10.0", "15.0"]}),
            "Foreign Official 2026-02 equal to the sum of its rows",
        ),
        (table5({**GOOD, "Japan ": ["1.0", "1.0", "1.0"]}), "one row for Japan"),
    ],
    ids=[
        "empty",
        "html",
        "html-indented",
        "no-header",
        "reordered-months",
        "duplicate-month",
        "bad-month",
        "non-numeric",
        "short-row",
        "no-grand-total",
        "total-mismatch",
        "official-split-mismatch",
        "duplicate-row",
    ],
)
def test_bad_input_is_a_parse_error(data: bytes, message: str):
    with pytest.raises(ParseError) as err:
        parse_table5(data)
    assert message in str(err.value)
    assert str(err.value).startswith("slt_table5.txt")


def test_error_names_the_line():
    data = table5({**GOOD, "Japan": ["100.0", "abc", "80.0"]})
    with pytest.raises(ParseError) as err:
        parse_table5(data)
    assert err.value.line == 5
    assert "line 5" in str(err.value)
    assert "'abc'" in str(err.value)


def test_truncated_real_file(real_bytes):
    data = real_bytes("slt_table5.txt")
    cut = data[: data.index(b"Korea, South")]
    with pytest.raises(ParseError, match="Grand Total' row"):
        parse_table5(cut)
    mid_row = data[: data.index(b"Korea, South") + 30]
    with pytest.raises(ParseError, match="13 values for 'Korea, South'"):
        parse_table5(mid_row)


def test_html_table_served_as_text(real_bytes):
    with pytest.raises(ParseError, match="not an HTML page"):
        parse_table5(real_bytes("slt_table5.html"))
