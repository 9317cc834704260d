"""The $mn long-format files: SLT Table 3, Form S (s1_globl), legacy Table 3D (slt3d_globl)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bot.data.parse.form_s import parse_form_s
from bot.data.parse.slt3d import parse_slt3d
from bot.data.parse.table3 import parse_table3
from bot.errors import ParseError


def cell(df: pd.DataFrame, entity: str, month: str, series: str) -> float:
    hit = df[(df.entity == entity) & (df.series == series) & (df.period == pd.Period(month, "M"))]
    assert len(hit) == 1, (entity, month, series, len(hit))
    return float(hit.value.iloc[0])


# --- SLT Table 3 -----------------------------------------------------------------------------

T3_HEAD = (
    "Table 3: U.S. Treasury Securities Held by Foreign Residents\t\t\r\n\t\t\r\n"
    "country\tcountry_code\tdate\tfor_treas_pos\tfor_treas_net\tfor_lt_treas_pos\t"
    "for_lt_treas_net\tfor_lt_treas_valchg\tfor_st_treas_pos\tfor_st_treas_net\r\n"
)


def t3(*lines: str, notes: bool = True) -> bytes:
    body = T3_HEAD + "".join(line + "\r\n" for line in lines)
    return (body + ("\t\t\r\nNotes:\t\t\r\n" if notes else "")).encode()


T3_GOOD = [
    "Japan\t42609\t2026-04\t1209889\t16283\t1056542\t14705\t-3238\t153347\t1578",
    "Of Which: Foreign Official\t99990\t2026-04\t3000\t1\t2000\t-5\t2\t1000\t6",
    "Of Which: Foreign Non-Official\t99991\t2026-04\t7000\tn.a.\t5000\tn.a.\tn.a.\t2000\tn.a.",
    "Grand Total\t99996\t2026-04\t10000\t1\t7000\t1\t1\t3000\t1",
]


def test_table3_real_figures(real_bytes):
    df = parse_table3(real_bytes("slt_table3.txt"))
    assert cell(df, "Foreign Official", "2026-03", "lt_net") == pytest.approx(-37.941, abs=1e-12)
    assert cell(df, "Foreign Official", "2026-03", "lt_valuation") == pytest.approx(-52.584, abs=1e-12)
    assert cell(df, "Foreign Official", "2026-04", "holdings") == pytest.approx(3906.503, abs=1e-12)
    assert cell(df, "Japan", "2026-04", "holdings") == pytest.approx(1209.889, abs=1e-12)
    assert cell(df, "China, Mainland", "2026-03", "lt_net") == pytest.approx(-29.997, abs=1e-12)
    assert cell(df, "Grand Total", "2026-04", "holdings") == pytest.approx(9352.646, abs=1e-12)
    # net and valuation are n.a. before 2023-02: missing, not zero
    assert math.isnan(cell(df, "Japan", "2023-01", "lt_net"))
    assert not math.isnan(cell(df, "Japan", "2023-02", "lt_net"))
    assert set(df.vintage) == {"2026-04"}
    assert df.period.min() == pd.Period("2020-01", "M")


def test_table3_small():
    df = parse_table3(t3(*T3_GOOD))
    assert cell(df, "Foreign Non-Official", "2026-04", "holdings") == 7.0
    assert math.isnan(cell(df, "Foreign Non-Official", "2026-04", "lt_net"))
    assert cell(df, "Japan", "2026-04", "st_net") == 1.578


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            t3(*T3_GOOD).replace(
                b"for_lt_treas_net\tfor_lt_treas_valchg", b"for_lt_treas_valchg\tfor_lt_treas_net"
            ),
            "expected columns country",
        ),
        (t3(*T3_GOOD).replace(b"country\tcountry_code", b"land\tcountry_code"), "the column-name line"),
        (t3(*T3_GOOD, T3_GOOD[0]), "line 8: expected one line per country and month (Japan)"),
        (t3(T3_GOOD[0].replace("16283", "16,2B3"), *T3_GOOD[1:]), "a number for for_treas_net of Japan"),
        (t3(T3_GOOD[0].rsplit("\t", 3)[0], *T3_GOOD[1:]), "line 4: expected 10 cells"),
        (t3(*T3_GOOD, notes=False), "a blank line and the notes after the data"),
        (t3(*T3_GOOD[:3]), "a Grand Total row for 2026-04"),
        (
            t3(*T3_GOOD[:3], T3_GOOD[3].replace("10000", "10100")),
            "Grand Total 2026-04 = Foreign Official + Non-Official",
        ),
        (t3(T3_GOOD[0].replace("2026-04", "2026/04"), *T3_GOOD[1:]), "a month as YYYY-MM"),
        (b"<!doctype html>\n<title>Treasury</title>", "not an HTML page"),
    ],
    ids=[
        "reordered-columns",
        "missing-header",
        "duplicate",
        "non-numeric",
        "short-row",
        "truncated",
        "no-grand-total",
        "totals",
        "bad-month",
        "html",
    ],
)
def test_table3_bad_input(data: bytes, message: str):
    with pytest.raises(ParseError) as err:
        parse_table3(data)
    assert message in str(err.value)
    assert str(err.value).startswith("slt_table3.txt")


def test_table3_truncated_real_file(real_bytes):
    data = real_bytes("slt_table3.txt")
    with pytest.raises(ParseError, match="truncated"):
        parse_table3(data[: len(data) // 2])


# --- Form S ------------------------------------------------------------------------------------


def test_form_s_real_figures(real_bytes):
    df = parse_form_s(real_bytes("s1_globl.txt"))
    assert cell(df, "Japan", "2022-09", "lt_net") == pytest.approx(-35.461, abs=1e-12)  # 11,907 − 47,368
    assert cell(df, "Grand Total", "1977-01", "lt_net") == pytest.approx((1632 - 1122) / 1000)
    assert df.period.min() == pd.Period("1977-01", "M")
    assert df.period.max() == pd.Period("2023-01", "M")
    domestic = {"lt_net", "agency_net", "corp_net", "equity_net", "total_lt_net"}
    assert set(df.series) == domestic | {"foreign_bonds_net", "foreign_stocks_net"}


S1_HEAD = (
    '\t\t\t"U.S. Transactions with Foreigners"\r\n'
    "Country\tCountry\tEnd of\tnotes\r\n"
    "name\tcode\tmonth\t[1]\t[2]\t[3]\t[4]\t[5]\t[6]\t[7]\t[8]\t[9]\t[10]\t[11]\t[12]\r\n"
    " ----\t ----\t ----\r\n"
)


def s1(*lines: str) -> bytes:
    return (S1_HEAD + "".join(line + "\r\n" for line in lines)).encode()


S1_ROW = 'Japan\t42609\t2022-09\t"11,907"\t1\t2\t3\t4\t5\t"47,368"\t8\t9\t10\t11\t12'
S1_TOTAL = 'Grand Total\t99996\t2022-09\t"99,000"\t1\t2\t3\t4\t5\t"98,000"\t8\t9\t10\t11\t12'


def test_form_s_small_quoted_thousands():
    df = parse_form_s(s1(S1_ROW, S1_TOTAL))
    assert cell(df, "Grand Total", "2022-09", "lt_net") == 1.0
    assert cell(df, "Japan", "2022-09", "lt_net") == pytest.approx(-35.461, abs=1e-12)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (s1(S1_ROW.replace('"11,907"', "x"), S1_TOTAL), "a number for [1] of Japan"),
        (s1(S1_ROW, S1_ROW, S1_TOTAL), "duplicate month 2022-09"),
        (s1(S1_ROW.rsplit("\t", 8)[0], S1_TOTAL), "expected 15 cells"),
        (s1(S1_ROW, S1_TOTAL).replace(b"[1]\t[2]", b"[2]\t[1]"), "expected columns name code month"),
        (s1(S1_ROW), "a Grand Total line for every month, none for 2022-09"),
        (s1(), "data lines after the column names"),
        (S1_HEAD.replace("name\tcode", "nom\tcode").encode(), "the column-name line"),
    ],
    ids=["non-numeric", "duplicate", "short-row", "reordered", "no-total", "empty", "missing-header"],
)
def test_form_s_bad_input(data: bytes, message: str):
    with pytest.raises(ParseError) as err:
        parse_form_s(data)
    assert message in str(err.value)


# --- legacy Table 3D ---------------------------------------------------------------------------


def test_slt3d_real_figures(real_bytes):
    df = parse_slt3d(real_bytes("slt3d_globl.csv"))
    assert cell(df, "Japan", "2023-01", "holdings") == pytest.approx(1104.387, abs=1e-12)
    assert cell(df, "Japan", "2023-01", "lt_holdings") == pytest.approx(1031.430, abs=1e-12)
    assert cell(df, "Foreign Official", "2023-01", "holdings") == pytest.approx(3713.886, abs=1e-12)
    assert cell(df, "Korea, South", "2023-01", "holdings") > 0
    assert math.isnan(cell(df, "Gibraltar", "2023-01", "holdings"))  # "n.a."
    assert df.period.min() == pd.Period("2011-09", "M")


def test_slt3d_truncated_and_bad(real_bytes):
    data = real_bytes("slt3d_globl.csv")
    with pytest.raises(ParseError, match="'Notes:' after the data"):
        parse_slt3d(data[: data.index(b'"Japan"')])
    with pytest.raises(ParseError, match="a number for lt_holdings of Japan"):
        parse_slt3d(data.replace(b'"1,031,430"', b'"1,O31,430"', 1))
    with pytest.raises(ParseError, match="title 'TABLE 3D"):
        parse_slt3d(b'"Austria",10189,"2023-01","5,367","4,175","1,192"\r\n')


def test_form_s_truncated_real_file(real_bytes):
    data = real_bytes("s1_globl.txt")
    cut = data.rindex(b"\r\n", 0, int(len(data) * 0.9)) + 2  # at a line end
    with pytest.raises(ParseError, match="a Grand Total line for every month"):
        parse_form_s(data[:cut])
    with pytest.raises(ParseError, match="expected 15 cells"):
        parse_form_s(data[: cut + 20])  # mid-line
