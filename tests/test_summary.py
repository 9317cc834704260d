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


def test_the_headline_flows_are_the_release_months_or_none(real_panel, real_bytes):
    """The Treasury's headline: net foreign purchases of long-term U.S. securities in April 2026
    (SLT Table 1: 205,986 $mn), by type, each ranked among the ten largest; without Table 1 (out
    after Table 5 on a release day) no headline, not Form S's January 2023 as if it were April's."""
    from bot.config import load_settings
    from bot.data.load import panel_from_bytes
    from bot.data.sources import RELEASE_FILES
    from bot.render.text import headline_lines

    h = build_summary(real_panel).headline
    assert h is not None and h.total.month == "2026-04"
    assert h.total.value == 205.986
    assert [r.series for r in h.types] == ["lt_net", "agency_net", "corp_net", "equity_net"]
    assert [r.entity for r in h.sectors] == ["Foreign Official", "Foreign Non-Official"]
    lines = headline_lines(h)
    assert lines[1] == "Net foreign purchases of long-term U.S. securities, Apr 2026 (> 0 = bought):"
    assert lines[2].startswith(
        "  +206.0 (the 6th largest net buying on record, since Jan 1977): Treasuries +50.5"
    )
    files = {n: real_bytes(n) for n in RELEASE_FILES if n != "slt_table1.txt"}
    assert build_summary(panel_from_bytes(files, load_settings(None).groups)).headline is None
