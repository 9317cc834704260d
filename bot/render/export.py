"""Events as data for other programs: the JSON object of `tic-alert check --json` and the CSV of
`tic-alert backtest --csv`, with the same wording as the message (bot.render.wording)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from bot.render.wording import note_text, part_label, rank_what
from bot.rules.events import NET_BY_MEMBER, NET_LT, NET_TOTAL, VALUATION_LT, Event


def event_dict(e: Event) -> dict[str, Any]:
    """A JSON-ready mapping of an event: its fields, what its rank ranks, its notes worded, its key."""
    out = asdict(e)
    if e.rank is not None:
        r = out["rank"]
        out["rank"] = {
            "rank": r["rank"],
            "of": r["of"],
            "since": r["since"],
            "until": r["until"],
            "what": rank_what(e),
            "previous": r["previous"],
        }
    out["parts"] = [
        {"label": part_label(p), "value": p.value, "source": p.source, "members": p.members} for p in e.parts
    ]
    out["notes"] = [note_text(n) for n in e.notes]
    out["key"] = e.key
    out["asset"] = e.asset  # treasury, agency, corporate, equity, total_lt, foreign_bonds, foreign_stocks
    return out


CSV_COLUMNS = [
    "key",
    "release",
    "rule",
    "kind",
    "severity",
    "entity",
    "basis",
    "asset",
    "window",
    "start",
    "end",
    "value",
    "unit",
    "metric",
    "threshold",
    "rank",
    "rank_of",
    "rank_since",
    "previous",
    "net",
    "valuation",
    "parts",
    "notes",
    "suppressed",
]


def to_csv(events: Iterable[Event]) -> str:
    """One CSV row per event (values in $bn as in the panel, unrounded)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for e in events:
        net = next((p for p in e.parts if p.kind in (NET_TOTAL, NET_LT, NET_BY_MEMBER) and p.source), None)
        val = next((p for p in e.parts if p.kind == VALUATION_LT), None)
        writer.writerow(
            {
                "key": e.key,
                "release": e.release,
                "rule": e.rule,
                "kind": e.kind,
                "severity": e.severity,
                "entity": e.entity,
                "basis": e.basis,
                "asset": e.asset,
                "window": e.window,
                "start": e.start,
                "end": e.end,
                "value": e.value,
                "unit": e.unit,
                "metric": e.metric,
                "threshold": e.threshold,
                "rank": e.rank.rank if e.rank else "",
                "rank_of": e.rank.of if e.rank else "",
                "rank_since": e.rank.since if e.rank else "",
                "previous": f"{e.rank.previous[0]}@{e.rank.previous[1]}"
                if e.rank and e.rank.previous
                else "",
                "net": net.value if net else "",
                "valuation": val.value if val else "",
                "parts": "; ".join(
                    f"{part_label(p)}={p.value}"
                    + ("" if not p.members else " [" + ", ".join(f"{m}={v}" for m, v in p.members) + "]")
                    for p in e.parts
                ),
                "notes": "; ".join(note_text(n) for n in e.notes),
                "suppressed": "; ".join([*e.suppressed, *(g for g, _ in e.within)]),
            }
        )
    return buf.getvalue()
