"""Legacy fixed-width mfh.txt (frozen since March 2023)."""

from __future__ import annotations

import pandas as pd
import pytest

from bot.data.parse.mfh_legacy import parse_mfh_legacy
from bot.errors import ParseError


def cell(df: pd.DataFrame, entity: str, month: str, series: str = "holdings") -> float:
    hit = df[(df.entity == entity) & (df.series == series) & (df.period == pd.Period(month, "M"))]
    assert len(hit) == 1, (entity, month, series)
    return float(hit.value.iloc[0])


def test_real_figures(real_bytes):
    df = parse_mfh_legacy(real_bytes("mfh.txt"))
    assert cell(df, "Japan", "2023-01") == 1104.4
    assert cell(df, "Japan", "2022-10") == 1064.4
    assert cell(df, "China, Mainland", "2022-10") == 877.9
    assert cell(df, "Korea, South", "2023-01") == 105.8  # printed "Korea"
    assert cell(df, "Foreign Official", "2023-01", "st_holdings") == 249.6
    assert cell(df, "Foreign Official", "2023-01", "lt_holdings") == 3464.3
    assert set(df.vintage) == {"2023-03-15"}
    assert df.period.nunique() == 13


SMALL = """
                     MAJOR FOREIGN HOLDERS OF TREASURY SECURITIES
                  Jan     Dec
Country           2023    2022
                ------  ------

Japan           1104.4  1076.3
China, Mainland  859.4   867.1
All Other         10.0    10.0
Grand Total     1973.8  1953.4

Of which:
 For. Official   100.0   100.0
  Treasury Bills  40.0    40.0
  T-Bonds & Notes 60.0    60.0

Department of the Treasury/Federal Reserve Board
March 15, 2023
""".replace("\n", "\r\n").encode()


def test_small_file():
    df = parse_mfh_legacy(SMALL)
    assert cell(df, "China, Mainland", "2022-12") == 867.1
    assert cell(df, "Foreign Official", "2022-12", "lt_holdings") == 60.0
    assert "All Other (mfh.txt roster)" in set(df.entity)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (SMALL.replace(b"1104.4  1076.3", b"1104.4  10x6.3"), "a label and 2 values"),
        (SMALL.replace(b"1104.4  1076.3", b"1104.4"), "a label and 2 values"),
        (
            SMALL.replace(b"Grand Total     1973.8", b"Grand Total     1993.8"),
            "Grand Total 2023-01 equal to the sum of its rows",
        ),
        (SMALL[: SMALL.index(b"Grand Total")], "footer 'Department of the Treasury"),
        (SMALL.replace(b"Grand Total ", b"Grand Totals"), "a 'Grand Total' row (file truncated?)"),
        (SMALL.replace(b"March 15, 2023", b"15/03/2023"), "the date stamp"),
        (SMALL.replace(b"Jan     Dec", b"Dec     Jan"), "header months newest first"),
        (SMALL.replace(b"Country ", b"Nation  "), "a line of month names above a 'Country' line"),
        (b"<HTML><BODY>Bad gateway</BODY></HTML>", "not an HTML page"),
    ],
    ids=[
        "non-numeric",
        "short-row",
        "total",
        "truncated",
        "no-total",
        "stamp",
        "reordered",
        "no-header",
        "html",
    ],
)
def test_bad_input(data: bytes, message: str):
    with pytest.raises(ParseError) as err:
        parse_mfh_legacy(data)
    assert message in str(err.value)
