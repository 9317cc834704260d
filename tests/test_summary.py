"""The release summary is typed data: the figures of the newest month as the files print them."""

from __future__ import annotations

import json

from bot.data.ranking import WindowRank
from bot.render.summary import HolderRow, ReleaseSummary, build_summary


def test_the_summary_of_the_april_2026_release(real_panel):
    s = build_summary(real_panel)
    assert isinstance(s, ReleaseSummary)
    assert s.data_month == "2026-04"
    assert s.grand_total.value == 9352.6
    assert s.top_holders[0] == HolderRow(
        entity="Japan",
        series="holdings",
        month="2026-04",
        value=1209.9,
        source="slt_table5.txt",
        change_1m=18.3,
        change_3m=-15.4,
        change_12m=75.4,
        rank_3m=WindowRank(rank=54, of=123, direction="decline", since="2000-06", windows=308),
    )
    assert s.foreign_official.holdings.value == 3906.5
    assert s.foreign_official.bills.value == 457.3
    assert s.foreign_official_flows is not None
    assert s.foreign_official_flows.net_lt.month == "2026-04"


def test_top_cuts_the_holders_and_json_keeps_the_field_names(real_panel):
    s = build_summary(real_panel, top=3)
    assert [r.entity for r in s.top_holders] == ["Japan", "United Kingdom", "China, Mainland"]
    data = json.loads(json.dumps(s.to_dict()))
    assert data["grand_total"]["rank_3m"]["direction"] == "increase"
    assert data["foreign_official"]["bonds_notes"]["value"] == 3449.2
