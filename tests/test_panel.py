"""The merged panel: precedence, overlaps, groups, breaks and windows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bot.data.entities import Group
from bot.data.merge import published
from bot.data.panel import build_panel
from bot.data.parse import Break, ParsedFile, parse_file
from bot.data.parse.frame import COLUMNS
from bot.data.ranking import WindowRank

P = lambda s: pd.Period(s, "M")  # noqa: E731


def frame(rows: list[tuple[str, str, str, float]], source: str, vintage: str) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["entity", "series", "period", "value"])
    df["period"] = pd.PeriodIndex(df["period"], freq="M")
    df["source"], df["vintage"] = source, vintage
    return df[COLUMNS]


# --- on the real files ------------------------------------------------------------------------


def test_every_overlapping_table5_mfhhis_cell_agrees(real_bytes):
    t5 = parse_file("slt_table5.txt", real_bytes("slt_table5.txt")).frame
    hist = parse_file("mfhhis01.txt", real_bytes("mfhhis01.txt")).frame
    m = t5.merge(hist, on=["entity", "series", "period"], suffixes=("_t5", "_his"))
    assert len(m) == 216  # 9 months (2025-04..12) × 24 comparable rows
    assert (m.value_t5 == m.value_his).all()


def test_real_panel_figures(real_panel):
    p = real_panel
    assert p.latest() == P("2026-04")
    assert p.series("Japan")[P("2022-10")] == 1064.4
    assert p.series("China, Mainland")[P("2022-10")] == 877.9
    assert p.series("Japan")[P("2026-04")] == 1209.9
    assert p.series("Grand Total")[P("2026-04")] == 9352.6
    assert p.series("Foreign Official")[P("2026-04")] == 3906.5
    assert p.series("Foreign Official", "lt_net")[P("2026-03")] == pytest.approx(-37.941, abs=1e-12)
    assert p.series("Japan", "lt_net")[P("2022-09")] == pytest.approx(-35.461, abs=1e-12)
    assert p.rows("Japan").at[P("2022-10"), "source"] == "mfhhis01.txt"
    assert p.rows("Japan").at[P("2026-04"), "source"] == "slt_table5.txt"
    # a country off the MFH roster comes from Table 3 ($mn precision), since 2020
    assert p.rows("Austria").at[P("2026-04"), "source"] == "slt_table3.txt"
    assert p.series("Austria")[P("2026-04")] == pytest.approx(6.294, abs=1e-12)
    # holdings run 2000 → latest without a hole for Japan
    japan = p.series("Japan")
    assert japan.index.min() == P("2000-03")
    assert japan.index.max() == P("2026-04")
    assert len(japan) == len(pd.period_range("2000-03", "2026-04", freq="M"))


def test_japan_china_record_three_month_fall(real_panel):
    w = real_panel.window("Japan + China", "holdings", 3)
    assert w[P("2022-10")] == pytest.approx(-227.6, abs=1e-9)  # end-Jul → end-Oct 2022
    assert w[P("2022-11")] == pytest.approx(-182.5, abs=1e-9)
    assert w.idxmin() == P("2022-10")
    assert real_panel.series("Japan + China")[P("2022-10")] == pytest.approx(1942.3, abs=1e-9)
    flows = real_panel.window("Japan + China", "lt_net", 3)
    assert flows[P("2022-10")] == pytest.approx(-29.570, abs=1e-9)  # Form S, Aug–Oct 2022
    assert flows.idxmin() == P("2016-02")
    assert flows.min() == pytest.approx(-118.851, abs=1e-9)


def test_net_transactions_break_at_2023_02_is_marked(real_panel):
    flows = real_panel.window("Japan", "lt_net", 3)
    assert not math.isnan(flows[P("2023-01")])  # all Form S
    assert math.isnan(flows[P("2023-02")]) and math.isnan(flows[P("2023-03")])  # mixed
    assert not math.isnan(flows[P("2023-04")])  # all Table 3
    assert any(b.brk.period == P("2023-02") and b.series == ("lt_net",) for b in real_panel.breaks)
    one = real_panel.window("Japan", "lt_net", 1)
    assert not math.isnan(one[P("2023-02")])  # a single month is not a mix


def test_dec_2011_break_has_no_comparison(real_panel):
    one = real_panel.window("Japan", "holdings", 1)
    assert math.isnan(one[P("2011-12")])
    assert one[P("2012-01")] == pytest.approx(1080.8 - 1058.1, abs=1e-9)  # SLT series on both sides
    assert math.isnan(real_panel.window("Japan", "holdings", 3)[P("2012-02")])  # Nov → Feb crosses it


def test_newer_edition_wins_and_differences_are_reported(real_bytes):
    from conftest import MARCH_EDITION

    if not (MARCH_EDITION / "mfhhis01.txt").is_file():
        pytest.skip(f"{MARCH_EDITION} not found")
    march = parse_file("mfhhis01.txt", (MARCH_EDITION / "mfhhis01.txt").read_bytes())
    may = parse_file("mfhhis01.txt", real_bytes("mfhhis01.txt"))
    for order in ([march, may], [may, march]):
        p = build_panel(order, groups=())
        assert p.series("United Kingdom")[P("2025-12")] == 863.1  # May edition, not March's 866
        c = p.conflicts
        assert len(c) == 76
        assert set(c.vintage_kept) == {"2026-05-18"}
        assert set(c.vintage_other) == {"2026-03-18"}


def test_published_dates_order_vintages():
    assert published("2026-05-18") == "2026-05-18"
    assert published("2026-04") == "2026-06-01"  # data for April are released in June
    assert published("2026-04") > published("2026-05-18")


# --- small hand-built panels -------------------------------------------------------------------


def test_group_is_summed_only_where_every_member_has_a_value():
    rows = [
        ("A", "holdings", "2024-01", 10.0),
        ("A", "holdings", "2024-02", 11.0),
        ("B", "holdings", "2024-01", 5.0),
    ]
    p = build_panel(
        [ParsedFile("slt_table5.txt", frame(rows, "slt_table5.txt", "2024-02"), "2024-02")],
        groups=[Group("A + B", ("A", "B"))],
    )
    g = p.series("A + B")
    assert list(g.index) == [P("2024-01")]
    assert g.iloc[0] == 15.0


def test_group_members_match_like_labels():
    rows = [("Japan", "holdings", "2024-01", 10.0), ("China, Mainland", "holdings", "2024-01", 5.0)]
    p = build_panel(
        [ParsedFile("slt_table5.txt", frame(rows, "slt_table5.txt", "2024-01"), "2024-01")],
        groups=[Group("J + C", ("japan", '"China, Mainland"'))],
    )
    assert p.series("J + C").iloc[0] == 15.0


def test_missing_month_is_not_interpolated():
    rows = [("A", "holdings", m, v) for m, v in [("2024-01", 10.0), ("2024-02", 12.0), ("2024-04", 20.0)]]
    p = build_panel([ParsedFile("slt_table5.txt", frame(rows, "slt_table5.txt", "2024-04"), "2024-04")], ())
    one = p.window("A", "holdings", 1)
    assert one[P("2024-02")] == 2.0
    assert math.isnan(one[P("2024-03")])
    assert math.isnan(one[P("2024-04")])
    assert P("2024-03") not in p.series("A").index


def test_break_with_comparison_value_is_chained():
    # June: new series 100 (continuing), old series 90 (for comparison); May 85, July 104.
    rows = [
        ("A", "holdings", "2010-05", 85.0),
        ("A", "holdings", "2010-06", 100.0),
        ("A", "holdings_prior", "2010-06", 90.0),
        ("A", "holdings", "2010-07", 104.0),
    ]
    brk = Break(P("2010-06"), "Series XI", comparable=True)
    f = ParsedFile("mfhhis01.txt", frame(rows, "mfhhis01.txt", "2026-05-18"), "2026-05-18", [brk])
    p = build_panel([f], ())
    one = p.window("A", "holdings", 1)
    assert one[P("2010-06")] == 5.0  # old series May → old series June, not 100 − 85
    assert one[P("2010-07")] == 4.0
    assert p.window("A", "holdings", 2)[P("2010-07")] == 9.0


def test_break_without_comparison_makes_windows_unknown():
    rows = [
        ("A", "holdings", m, v)
        for m, v in [("2011-10", 1.0), ("2011-11", 2.0), ("2011-12", 50.0), ("2012-01", 51.0)]
    ]
    brk = Break(P("2011-12"), "Series XIII", comparable=False)
    f = ParsedFile("mfhhis01.txt", frame(rows, "mfhhis01.txt", "2026-05-18"), "2026-05-18", [brk])
    p = build_panel([f], ())
    three = p.window("A", "holdings", 2)
    assert math.isnan(three[P("2011-12")])
    assert math.isnan(three[P("2012-01")])
    assert p.window("A", "holdings", 1)[P("2012-01")] == 1.0


def test_rank_counts_same_direction_only():
    values = [100, 90, 95, 80, 85]  # 1-month changes: -10, +5, -15, +5
    rows = [("A", "holdings", f"2024-0{i + 1}", float(v)) for i, v in enumerate(values)]
    p = build_panel([ParsedFile("slt_table5.txt", frame(rows, "slt_table5.txt", "2024-05"), "2024-05")], ())
    r = p.rank("A", "holdings", 1)
    assert r == WindowRank(rank=1, of=2, direction="increase", since="2024-02", windows=4)


def test_newer_mn_table_wins_only_beyond_rounding():
    history = [("A", "holdings", "2024-12", 378.8), ("B", "holdings", "2024-12", 100.0)]
    table3 = [("A", "holdings", "2024-12", 380.256), ("B", "holdings", "2024-12", 100.049)]
    p = build_panel(
        [
            ParsedFile("mfhhis01.txt", frame(history, "mfhhis01.txt", "2026-05-18"), "2026-05-18"),
            ParsedFile("slt_table3.txt", frame(table3, "slt_table3.txt", "2026-04"), "2026-04"),
        ],
        (),
    )
    assert p.series("A")[P("2024-12")] == 380.256  # a revision: the June release wins
    assert p.series("B")[P("2024-12")] == 100.0  # rounding: the MFH figure is kept
    assert list(p.conflicts.entity) == ["A"]
    assert p.conflicts.source_kept[0] == "slt_table3.txt"


def test_real_revision_in_table3_is_kept_and_reported(real_panel):
    fo = real_panel.rows("Foreign Official")
    assert fo.at[P("2024-12"), "source"] == "slt_table3.txt"
    assert fo.at[P("2024-12"), "value"] == pytest.approx(3777.591, abs=1e-9)
    c = real_panel.conflicts
    hit = c[(c.entity == "Foreign Official") & (c.series == "holdings") & (c.source_other == "mfhhis01.txt")]
    assert hit.value_other.tolist() == [3792.5]
