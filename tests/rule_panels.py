"""Small hand-built panels and rule catalogues for the rules tests (not a test module)."""

from __future__ import annotations

import pandas as pd

from bot.data.entities import Group
from bot.data.panel import Panel, build_panel
from bot.data.parse import Break, ParsedFile
from bot.data.parse.frame import COLUMNS
from bot.rules.catalogue import Rule, load_rules

JC = Group("Japan + China", ("Japan", "China, Mainland"))
MONTHS = [str(p) for p in pd.period_range("2020-01", periods=48, freq="M")]


def months(n: int, start: str = "2020-01") -> list[str]:
    return [str(p) for p in pd.period_range(start, periods=n, freq="M")]


def parsed(
    name: str,
    cells: dict[tuple[str, str], list[float | None]],
    start: str = "2020-01",
    breaks: list[Break] | None = None,
) -> ParsedFile:
    """A parsed file from {(entity, series): values by month from ``start``} (None = no cell)."""
    rows = []
    for (entity, series), values in cells.items():
        for m, v in zip(months(len(values), start), values):
            if v is not None:
                rows.append((entity, series, m, float(v)))
    df = pd.DataFrame(rows, columns=["entity", "series", "period", "value"])
    df["period"] = pd.PeriodIndex(df["period"], freq="M")
    vintage = str(df["period"].max()) if len(df) else start
    df["source"], df["vintage"] = name, vintage
    return ParsedFile(name, df[COLUMNS], vintage, breaks or [])


def panel(
    holdings: dict[str, list[float | None]],
    flows: dict[tuple[str, str], list[float | None]] | None = None,
    groups: tuple[Group, ...] = (JC,),
    start: str = "2020-01",
) -> Panel:
    """Holdings as Table 5 ($bn, the MFH roster), flows as Table 3."""
    files = [parsed("slt_table5.txt", {(e, "holdings"): v for e, v in holdings.items()}, start)]
    if flows:
        files.append(parsed("slt_table3.txt", flows, start))
    return build_panel(files, groups)


def cut(p: Panel, month: str | pd.Period) -> Panel:
    """The panel as it stood with data up to ``month`` (same breaks, groups, files)."""
    t = pd.Period(month, "M")
    data = p.data[p.data["period"] <= t].reset_index(drop=True)
    return Panel(data, p.breaks, p.conflicts, p.warnings, p.files, p.groups)


def rule(text: str, groups: tuple[Group, ...] = (JC,)) -> Rule:
    """One rule from the body of a [[rule]] table."""
    return load_rules(groups, "[[rule]]\n" + text)[0]


TEST_RULES = """
[[rule]]
id = "since"
description = "largest 1-month rise in years"
kind = "largest_since"
entities = ["@groups", "@major"]
basis = "holdings"
window = 1
direction = "increase"
threshold = 1
severity = "info"

[[rule]]
id = "drop"
description = "3-month decline"
kind = "change"
entities = ["@groups", "@major", "Grand Total"]
basis = "holdings"
window = 3
direction = "decline"
threshold = 10
severity = "notable"

[[rule]]
id = "drop-pct"
description = "12-month decline in percent"
kind = "change"
entities = ["@groups", "@major"]
basis = "holdings"
window = 2
unit = "pct"
direction = "decline"
threshold = 5
severity = "info"

[[rule]]
id = "record"
description = "record 2-month decline"
kind = "record"
entities = ["@groups", "@major", "Grand Total", "Foreign Official"]
basis = "holdings"
window = 2
direction = "decline"
threshold = 1
min_history = 3
severity = "major"

[[rule]]
id = "net-record"
description = "record net selling"
kind = "record"
entities = ["@groups", "@countries", "Foreign Official"]
basis = "net"
window = 2
direction = "decline"
threshold = 2
min_history = 2
severity = "major"

[[rule]]
id = "fo-net"
description = "official net selling"
kind = "official_selling"
basis = "net"
threshold = 0
severity = "notable"

[[rule]]
id = "fo-streak"
description = "official selling streak"
kind = "streak"
entity = "Foreign Official"
basis = "net"
threshold = 2
severity = "notable"

[[rule]]
id = "low"
description = "multi-year low"
kind = "multi_year"
entities = ["@groups", "@major", "Foreign Official"]
basis = "holdings"
direction = "low"
threshold = 1
severity = "notable"

[[rule]]
id = "climb"
description = "rank change"
kind = "rank_change"
entities = ["@countries"]
basis = "holdings"
direction = "either"
threshold = 1
top_n = 3
severity = "notable"
"""
