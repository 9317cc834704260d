"""Every flow in the release: SLT Table 1 (all long-term U.S. securities) and Form S in full,
their cross-checks, and figures recomputed straight from the raw lines."""

from __future__ import annotations

import math
import random

import pandas as pd
import pytest

from bot.data import crosscheck
from bot.data.entities import (
    ASSET_SERIES,
    ASSETS,
    FLOW_SERIES,
    SERIES_ASSET,
    asset_of,
)
from bot.data.panel import FORM_S_TO_SLT1, build_panel
from bot.data.parse import PARSERS, parse_file
from bot.data.parse.form_s import parse_form_s
from bot.data.parse.table1 import parse_table1
from bot.data.sources import COMPANIONS, RELEASE_FILES, source_label
from bot.errors import ParseError

T1 = "slt_table1.txt"


def cell(df: pd.DataFrame, entity: str, month: str, series: str) -> float:
    hit = df[(df.entity == entity) & (df.series == series) & (df.period == pd.Period(month, "M"))]
    assert len(hit) == 1, (entity, month, series, len(hit))
    return float(hit.value.iloc[0])


@pytest.fixture(scope="module")
def t1(tic_dir):
    return parse_file(T1, (tic_dir / T1).read_bytes())


@pytest.fixture(scope="module")
def t3(tic_dir):
    return parse_file("slt_table3.txt", (tic_dir / "slt_table3.txt").read_bytes())


@pytest.fixture(scope="module")
def form_s(tic_dir):
    return parse_file("s1_globl.txt", (tic_dir / "s1_globl.txt").read_bytes())


# --- the catalogue and the asset map -----------------------------------------------------------


def test_table1_is_a_release_file_and_a_month_companion():
    assert T1 in PARSERS
    assert T1 in RELEASE_FILES
    assert T1 in COMPANIONS
    assert source_label(T1) == "SLT Table 1"


def test_every_asset_has_its_net_series_and_back():
    assert set(ASSET_SERIES) == set(ASSETS)
    assert FLOW_SERIES[0] == "total_lt_net"
    for asset, kinds in ASSET_SERIES.items():
        for series in kinds.values():
            assert SERIES_ASSET[series] == asset == asset_of(series)
    assert asset_of("holdings") == "treasury"
    assert asset_of("equity_net") == "equity"
    with pytest.raises(KeyError):
        asset_of("no_such_series")


# --- SLT Table 1: figures read from the raw lines --------------------------------------------


def test_table1_real_figures(t1):
    df = t1.frame
    # Grand Total\t99996\t2026-04\t37722986\t205986\t1975351\t7854033\t50516\t-39075\t1416275\t26566
    #   \t-4027\t5249043\t20711\t34087\t23203635\t108193\t1984366
    assert cell(df, "Grand Total", "2026-04", "equity_net") == pytest.approx(108.193, abs=1e-12)
    assert cell(df, "Grand Total", "2026-04", "total_lt_net") == pytest.approx(205.986, abs=1e-12)
    assert cell(df, "Grand Total", "2026-04", "agency_valuation") == pytest.approx(-4.027, abs=1e-12)
    assert cell(df, "Grand Total", "2026-04", "corp_holdings") == pytest.approx(5249.043, abs=1e-12)
    # Grand Total 2026-03: agencies sold (−4,302), equity valuation −1,013,898
    assert cell(df, "Grand Total", "2026-03", "agency_net") == pytest.approx(-4.302, abs=1e-12)
    assert cell(df, "Grand Total", "2026-03", "equity_valuation") == pytest.approx(-1013.898, abs=1e-12)
    # Of Which: Foreign Official\t99990\t2026-03\t6454606\t-14907\t-178251 …
    assert cell(df, "Foreign Official", "2026-03", "total_lt_net") == pytest.approx(-14.907, abs=1e-12)
    assert cell(df, "Foreign Official", "2026-04", "total_lt_net") == pytest.approx(41.611, abs=1e-12)
    assert cell(df, "Foreign Official", "2026-04", "agency_net") == pytest.approx(-1.124, abs=1e-12)
    assert cell(df, "Foreign Non-Official", "2026-04", "total_lt_holdings") == pytest.approx(
        37722.986 - 6680.151, abs=0.002
    )
    # Austria\t10189\t2026-04\t49548\t36\t3754\t4109\t-53\t4\t4\t0\t0\t2720\t-14\t28\t42715\t103\t3722
    assert cell(df, "Austria", "2026-04", "corp_net") == pytest.approx(-0.014, abs=1e-12)
    assert cell(df, "Austria", "2026-04", "equity_net") == pytest.approx(0.103, abs=1e-12)
    # a sector row keeps its label; the types it does not split are n.a., not zero
    assert cell(df, "Of Which: Fund Shares", "2026-03", "equity_net") == pytest.approx(-21.024, abs=1e-12)
    assert math.isnan(cell(df, "Of Which: Fund Shares", "2026-03", "agency_net"))
    # net and valuation are n.a. until 2023-01 (Form S holds the flows then)
    assert math.isnan(cell(df, "Austria", "2023-01", "equity_net"))
    assert cell(df, "Austria", "2023-01", "equity_holdings") == pytest.approx(28.338, abs=1e-12)
    # Table 1's Treasury columns are Table 3's: kept for the cross-check, not in the frame
    assert not {"lt_holdings", "lt_net", "lt_valuation"} & set(df.series)
    assert t1.lines is not None
    assert len(t1.lines) == 8664
    assert set(df.vintage) == {"2026-04"}
    assert df.period.min() == pd.Period("2020-01", "M")
    assert df.period.max() == pd.Period("2026-04", "M")
    assert t1.warnings == []


def test_form_s_every_series_real_figures(tic_dir):
    df = parse_form_s((tic_dir / "s1_globl.txt").read_bytes())
    # Japan\t42609\t2022-09\t"11,907"\t"10,081"\t"3,669"\t"7,668"\t"60,588"\t"15,705"\t"47,368"
    #   \t"10,021"\t"2,612"\t"10,788"\t"68,688"\t"15,556"
    assert cell(df, "Japan", "2022-09", "equity_net") == pytest.approx(-3.120, abs=1e-12)  # 7,668 − 10,788
    assert cell(df, "Japan", "2022-09", "agency_net") == pytest.approx(0.060, abs=1e-12)
    assert cell(df, "Japan", "2022-09", "corp_net") == pytest.approx(1.057, abs=1e-12)
    assert cell(df, "Japan", "2022-09", "total_lt_net") == pytest.approx(-37.464, abs=1e-12)
    # U.S. residents' side: [11] − [5] and [12] − [6]
    assert cell(df, "Japan", "2022-09", "foreign_bonds_net") == pytest.approx(8.100, abs=1e-12)
    assert cell(df, "Japan", "2022-09", "foreign_stocks_net") == pytest.approx(-0.149, abs=1e-12)
    # Japan\t42609\t2008-10\t"64,321"\t"6,372"\t"1,789"\t"8,371" … \t"3,300"
    assert cell(df, "Japan", "2008-10", "equity_net") == pytest.approx(5.071, abs=1e-12)
    # United Kingdom 2020-03: stocks "842,927" bought, "850,615" sold
    assert cell(df, "United Kingdom", "2020-03", "equity_net") == pytest.approx(-7.688, abs=1e-12)
    # Grand Total 2023-01, the last Form S month
    assert cell(df, "Grand Total", "2023-01", "total_lt_net") == pytest.approx(31.723, abs=1e-12)
    assert cell(df, "Grand Total", "2023-01", "foreign_bonds_net") == pytest.approx(-8.121, abs=1e-12)


# --- bad input: a clear ParseError naming the file and the line ------------------------------

HEAD = (
    "Table 1: U.S. Long-Term Securities Held by Foreign Residents\t\t\r\n\t\t\r\n"
    "country\tcountry_code\tdate\tfor_lt_total_pos\tfor_lt_total_net\tfor_lt_total_valchg\t"
    "for_lt_treas_pos\tfor_lt_treas_net\tfor_lt_treas_valchg\tfor_lt_agcy_pos\tfor_lt_agcy_net\t"
    "for_lt_agcy_valchg\tfor_lt_corp_pos\tfor_lt_corp_net\tfor_lt_corp_valchg\tfor_lt_eqty_pos\t"
    "for_lt_eqty_net\tfor_lt_eqty_valchg\r\n"
)
GOOD = [
    "Austria\t10189\t2026-04\t49548\t36\t3754\t4109\t-53\t4\t4\t0\t0\t2720\t-14\t28\t42715\t103\t3722",
    "Of Which: Foreign Official\t99990\t2026-04\t100\t10\t1\t40\t4\t0\t10\t1\t0\t20\t2\t0\t30\t3\t1",
    "Of Which: Foreign Non-Official\t99991\t2026-04\t200\t20\t2\t80\t8\t1\t20\t2\t0\t40\t4\t0\t60\t6\t1",
    "Grand Total\t99996\t2026-04\t300\t30\t3\t120\t12\t1\t30\t3\t0\t60\t6\t0\t90\t9\t2",
]


def table1(*lines: str, notes: bool = True) -> bytes:
    body = HEAD + "".join(line + "\r\n" for line in lines)
    return (body + ("\t\t\r\nDefinitions:\t\t\r\n" if notes else "")).encode()


def test_table1_small():
    t = parse_table1(table1(*GOOD))
    assert cell(t.frame, "Grand Total", "2026-04", "equity_net") == pytest.approx(0.009)
    assert cell(t.frame, "Austria", "2026-04", "equity_holdings") == pytest.approx(42.715)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            table1(GOOD[0].replace("\t103\t", "\t1O3\t"), *GOOD[1:]),
            "line 4: expected a number for for_lt_eqty_net of Austria",
        ),
        (table1(GOOD[0].replace("\t103\t", "\t\t"), *GOOD[1:]), "line 4: expected 18 cells"),
        (table1(GOOD[0].rsplit("\t", 3)[0], *GOOD[1:]), "line 4: expected 18 cells"),
        (
            table1(*GOOD).replace(b"for_lt_agcy_pos\tfor_lt_agcy_net", b"for_lt_agcy_net\tfor_lt_agcy_pos"),
            "line 3: expected columns country",
        ),
        (table1(*GOOD).replace(b"country\tcountry_code", b"Country\tcode"), "the column-name line"),
        (table1(*GOOD, notes=False), "truncated"),
        (table1(*GOOD[:3]), "a Grand Total row for 2026-04 (truncated?)"),
        (table1(GOOD[0], GOOD[0], *GOOD[1:]), "duplicate month 2026-04"),
        (table1(GOOD[0].replace("10189", "1O189"), *GOOD[1:]), "line 4: expected a numeric country code"),
        (table1(GOOD[0].replace("2026-04", "2026-13"), *GOOD[1:]), "a month as YYYY-MM"),
        (table1(), "data lines after the column names"),
        (b"<!DOCTYPE html><html><body>Page not found</body></html>", "not an HTML page"),
        (b"", "a non-empty file"),
    ],
    ids=[
        "garbage-cell", "empty-cell", "short-line", "bad-header", "no-header", "no-notes", "no-total",
        "duplicate", "bad-code", "bad-month", "no-data", "html", "empty",
    ],
)  # fmt: skip
def test_table1_bad_input_names_file_and_line(data: bytes, message: str):
    with pytest.raises(ParseError) as err:
        parse_file(T1, data)
    assert message in str(err.value)
    assert T1 in str(err.value)


def test_table1_truncated_real_file(tic_dir):
    data = (tic_dir / T1).read_bytes()
    for cut in (len(data) // 2, len(data) // 5, data.index(b"\nGrand Total\t99996\t2023-03")):
        with pytest.raises(ParseError, match="truncated") as err:
            parse_file(T1, data[:cut])
        assert T1 in str(err.value)


def test_table1_a_garbage_cell_in_the_real_file(tic_dir):
    data = (tic_dir / T1).read_bytes()
    at = data.index(b"\nGrand Total\t99996\t2026-03\t")
    line = data[:at].count(b"\n") + 2
    bad = data.replace(b"\t9761\t-1013898", b"\t97x1\t-1013898", 1)
    with pytest.raises(ParseError) as err:
        parse_file(T1, bad)
    assert f"{T1}: line {line}" in str(err.value)
    assert "for_lt_eqty_net of Grand Total" in str(err.value)


# --- cross-checks ------------------------------------------------------------------------------


def test_the_real_files_pass_every_cross_check(t1, t3):
    cells, warnings = crosscheck.check_table1(t1, t3)
    assert cells.empty
    assert warnings == []
    # the Treasury columns were compared on every common line: 3 columns
    common = t1.lines.merge(
        t3.frame[t3.frame.series == "lt_holdings"][["entity", "period"]], on=["entity", "period"]
    )
    assert len(common) == 6916  # every line of Table 3


def _edited(lines: pd.DataFrame, entity: str, month: str, column: str, factor: float) -> pd.DataFrame:
    out = lines.copy()
    at = (out.entity == entity) & (out.period == pd.Period(month, "M"))
    assert at.sum() == 1
    out.loc[at, column] = out.loc[at, column] * factor
    return out


@pytest.mark.parametrize("column", ["for_lt_eqty_net", "for_lt_total_valchg", "for_lt_corp_pos"])
def test_types_must_add_to_the_total(t1, column):
    lines = _edited(t1.lines, "Japan", "2026-03", column, 10)
    bad = crosscheck.types_add_up(lines)
    assert list(bad.entity) == ["Japan"]
    assert list(bad.period.astype(str)) == ["2026-03"]
    assert bad.check.iloc[0].endswith("= the sum of the four types")


def test_sectors_must_add_to_the_grand_total(t1):
    lines = _edited(t1.lines, "Foreign Official", "2025-07", "for_lt_agcy_net", -1)
    bad = crosscheck.sectors_add_up(lines)
    assert list(bad.series) == ["agency_net"]
    assert list(bad.entity) == ["Grand Total"]


def test_treasuries_must_equal_table3(t1, t3):
    import dataclasses

    lines = _edited(t1.lines, "China, Mainland", "2026-03", "for_lt_treas_net", 2)
    bad = crosscheck.treasury_matches(lines, t3.frame)
    assert list(bad.series) == ["lt_net"]
    assert bad.value_kept.iloc[0] == pytest.approx(-29.997)  # Table 3's, kept
    assert bad.value_other.iloc[0] == pytest.approx(-59.994)
    # only when both are of one release
    cells, _ = crosscheck.check_table1(
        dataclasses.replace(t1, lines=lines), dataclasses.replace(t3, vintage="2026-03")
    )
    assert "Table 1's Treasuries = Table 3's long-term" not in set(cells.check)  # the sum check remains
    assert set(cells.check) == {"total_lt_net = the sum of the four types"}


@pytest.mark.parametrize("factor", [10, 0.1])
def test_holdings_off_for_one_month_is_flagged_a_real_shift_is_not(t1, factor):
    lines = _edited(t1.lines, "Canada", "2025-06", "for_lt_eqty_pos", factor)
    bad = crosscheck.holdings_spikes(lines)
    assert list(zip(bad.entity, bad.series, bad.period.astype(str))) == [
        ("Canada", "equity_holdings", "2025-06")
    ]
    # the real file's largest misses (a reclassification: the BVI's agency holdings ×18) are not
    assert crosscheck.holdings_spikes(t1.lines).empty


def test_holdings_change_misses_are_measured(t1):
    report = crosscheck.holdings_change_report(t1.lines).set_index("asset")
    assert report.loc["total_lt", "lines"] == 4446
    assert report.loc["total_lt", "median"] == 524.5
    assert report.loc["total_lt", "max"] == 398087
    assert report.loc["agency", "max"] == 50757
    assert 0.9 < report.loc["total_lt", "beyond_rounding"] < 0.95


def test_a_broken_identity_withholds_the_entity_with_a_warning(tic_dir):
    names = ["slt_table5.txt", "slt_table3.txt", T1]
    files = {n: (tic_dir / n).read_bytes() for n in names}
    files[T1] = files[T1].replace(
        b"\t9761\t-1013898", b"\t97610\t-1013898", 1
    )  # Grand Total 2026-03 equity net
    panel = build_panel([parse_file(n, d) for n, d in files.items()])
    assert "Grand Total" in panel.suspect_entities()
    assert any("slt_table1.txt" in w and "withheld" in w for w in panel.warnings)


def test_form_s_and_table1_side_by_side(form_s, t1):
    report = crosscheck.form_s_overlap(form_s.frame, t1).set_index("asset")
    assert (report["net_cells"] == 0).all()  # Table 1's flows start where Form S's end
    assert set(report["months"]) == {"2020-02 → 2023-01"}
    assert report.loc["equity", "cells"] > 2500
    # Form S's net vs Table 1's change in holdings: the valuation change and other changes
    assert report.loc["treasury", "grand_total_max_abs"] == pytest.approx(324.460, abs=1e-3)
    assert report.loc["equity", "grand_total_max_abs"] == pytest.approx(1088.341, abs=1e-3)


# --- the panel: Form S until 2023-01, SLT Table 1 after, with the break ------------------------


@pytest.fixture(scope="module")
def panel(t1, t3, form_s, tic_dir):
    t5 = parse_file("slt_table5.txt", (tic_dir / "slt_table5.txt").read_bytes())
    return build_panel([t5, t3, t1, form_s])


@pytest.mark.parametrize("series", ["total_lt_net", "agency_net", "corp_net", "equity_net", "lt_net"])
def test_each_flow_comes_from_form_s_then_the_slt_tables(panel, series):
    rows = panel.rows("Grand Total", series)
    assert rows.index.min() == pd.Period("1977-01", "M")
    assert rows.index.max() == pd.Period("2026-04", "M")
    assert set(rows.loc[:"2023-01", "source"]) == {"s1_globl.txt"}
    after = "slt_table3.txt" if series == "lt_net" else T1
    assert set(rows.loc["2023-02":, "source"]) == {after}
    assert (rows.index[1:] - rows.index[:-1] == pd.offsets.MonthEnd(1)).all()  # no gap


def test_the_new_flows_carry_the_form_s_break(panel):
    found = [a for a in panel.breaks if a.brk == FORM_S_TO_SLT1]
    assert len(found) == 1
    assert set(found[0].series) == {"total_lt_net", "agency_net", "corp_net", "equity_net"}
    assert found[0].brk.label == "Form S → SLT Table 1 net transactions"
    # a 3-month sum across the break is not a figure; one wholly after it is
    w = panel.window("Grand Total", "equity_net", 3)
    assert math.isnan(w[pd.Period("2023-03", "M")])
    assert w[pd.Period("2023-04", "M")] == pytest.approx(
        29.811 + 26.914 + cell_t1(panel, "2023-04"), abs=1e-6
    )


def cell_t1(panel, month: str) -> float:
    return float(panel.series("Grand Total", "equity_net")[pd.Period(month, "M")])


def test_holdings_windows_are_changes(panel):
    w = panel.window("Grand Total", "equity_holdings", 1)
    assert w[pd.Period("2026-04", "M")] == pytest.approx(23203.635 - 21173.717, abs=1e-6)


def test_form_s_wins_a_month_both_print(t1, form_s):
    import dataclasses

    frame = t1.frame.copy()
    early = (frame.series == "equity_net") & (frame.period == pd.Period("2022-12", "M"))
    frame.loc[early, "value"] = 999.0
    panel = build_panel([dataclasses.replace(t1, frame=frame), form_s])
    rows = panel.rows("Japan", "equity_net")
    assert rows.at[pd.Period("2022-12", "M"), "source"] == "s1_globl.txt"
    assert rows.at[pd.Period("2022-12", "M"), "value"] != 999.0


def test_new_series_coverage(panel):
    for series in ("total_lt_holdings", "equity_holdings", "equity_valuation", "corp_valuation"):
        for entity in ("Grand Total", "Foreign Official", "Foreign Non-Official"):
            assert panel.has(entity, series), (entity, series)
    for series in ("foreign_bonds_net", "foreign_stocks_net"):
        rows = panel.rows("Grand Total", series)
        assert (str(rows.index.min()), str(rows.index.max())) == ("1977-01", "2023-01")
    assert not panel.has("Foreign Official", "foreign_bonds_net")  # Form S has no sector rows
    assert panel.has("Japan + China", "equity_net")


# --- 20 flow figures recomputed straight from the raw lines ------------------------------------


def _raw(tic_dir, name: str) -> list[list[str]]:
    text = (tic_dir / name).read_bytes().decode("utf-8")
    return [line.split("\t") for line in text.splitlines()]


def _num(cell_text: str) -> float:
    return float(cell_text.strip().strip('"').replace(",", ""))


def test_twenty_flows_recomputed_from_the_raw_lines(tic_dir, panel):
    """Independent of the parsers: split on tabs, pick columns by their printed position."""
    rng = random.Random(24)
    checked = []
    # Form S: name, code, month, [1]..[12]; foreigners' net = bought − sold, U.S. residents' reverse
    form_s_pairs = {
        "lt_net": (3, 9), "agency_net": (4, 10), "corp_net": (5, 11), "equity_net": (6, 12),
        "foreign_bonds_net": (13, 7), "foreign_stocks_net": (14, 8),
    }  # fmt: skip
    rows = [r for r in _raw(tic_dir, "s1_globl.txt") if len(r) >= 15 and r[2].strip()[:2] in ("19", "20")]
    names = {
        "Japan": "Japan",
        "China": "China, Mainland",
        "United Kingdom": "United Kingdom",
        "Grand Total": "Grand Total",
    }
    rows = [r for r in rows if r[0].strip() in names]
    signs = {1: 0, -1: 0}
    while sum(signs.values()) < 10 or min(signs.values()) < 3:
        r = rng.choice(rows)
        series = rng.choice(list(form_s_pairs))
        a, b = form_s_pairs[series]
        value = (_num(r[a]) - _num(r[b])) / 1000
        if value == 0 or signs[1 if value > 0 else -1] >= 7:
            continue
        signs[1 if value > 0 else -1] += 1
        checked.append((names[r[0].strip()], series, r[2].strip(), value))
    # Table 1: country, code, date, then (pos, net, valchg) for total, treas, agcy, corp, eqty
    net_col = {"total_lt_net": 4, "agency_net": 10, "corp_net": 13, "equity_net": 16}
    agg = {"99996": "Grand Total", "99990": "Foreign Official", "99991": "Foreign Non-Official"}
    rows = [r for r in _raw(tic_dir, T1) if len(r) >= 18 and r[1].strip() in (*agg, "42609", "13005")]
    rows = [r for r in rows if r[4].strip() != "n.a." and r[2] != "date"]
    signs = {1: 0, -1: 0}
    while sum(signs.values()) < 10 or min(signs.values()) < 3:
        r = rng.choice(rows)
        series = rng.choice(list(net_col))
        value = _num(r[net_col[series]]) / 1000
        if value == 0 or signs[1 if value > 0 else -1] >= 7:
            continue
        signs[1 if value > 0 else -1] += 1
        entity = agg.get(r[1].strip(), r[0].strip())
        checked.append((entity, series, r[2].strip(), value))
    assert len(checked) == 20
    assert len({c[1] for c in checked}) >= 4
    for entity, series, month, value in checked:
        got = panel.series(entity, series)[pd.Period(month, "M")]
        assert got == pytest.approx(value, abs=1e-9), (entity, series, month)
