"""English for what the rules hand over as typed values: what a rank ranks, each part of a move,
and each caveat."""

from __future__ import annotations

from bot.data.entities import (
    AGENCY_NET,
    ASSET_SERIES,
    CORP_NET,
    EQUITY_NET,
    FOREIGN_BONDS_NET,
    FOREIGN_STOCKS_NET,
    LT_NET,
    TOTAL_LT_NET,
    TREASURY,
)
from bot.rules import events as ev
from bot.rules.events import COMPARED_ACROSS, NET_NOT_AVAILABLE, RANKED_ACROSS, Caveat, Event, Part
from bot.rules.kinds import KINDS, Claim
from bot.rules.selection import sign

PART_LABELS = {
    ev.NET_TOTAL: "net transactions",
    ev.NET_LT: "net transactions in bonds & notes",
    ev.NET_BY_MEMBER: "net transactions by member",
    ev.VALUATION_LT: "valuation change of bonds & notes",
    ev.LT_HOLDINGS_CHANGE: "change in bonds & notes holdings",
    ev.REST_AFTER_TOTAL: "other (bills, revisions, rounding)",
    ev.REST_AFTER_LT: "other",
    ev.REST_AFTER_NET: "valuation, bills and other",
}


# what each net-flow series is of, as a message names it
FLOW_WORDS = {
    LT_NET: "notes & bonds",
    TOTAL_LT_NET: "long-term U.S. securities",
    EQUITY_NET: "U.S. stocks",
    CORP_NET: "U.S. corporate bonds",
    AGENCY_NET: "U.S. agency bonds",
    FOREIGN_BONDS_NET: "foreign bonds",
    FOREIGN_STOCKS_NET: "foreign stocks",
}
# U.S. residents' purchases of foreign securities: "by U.S. residents" after the flow's words
BY_US_RESIDENTS = (FOREIGN_BONDS_NET, FOREIGN_STOCKS_NET)


def is_flow(series: str) -> bool:
    """A net-flow series (a window is a sum of purchases less sales), any asset."""
    return series in FLOW_WORDS


def flow_words(series: str) -> str:
    """ "U.S. stocks", "foreign stocks by U.S. residents", "notes & bonds" …"""
    return FLOW_WORDS[series] + (" by U.S. residents" if series in BY_US_RESIDENTS else "")


def noun(e: Event) -> str:
    """The move an event is about: "decline", "increase", "net selling", "net buying" or "move"."""
    if is_flow(e.basis):
        return "net selling" if sign(e.direction) < 0 else "net buying"
    return e.direction if e.direction in ("decline", "increase") else "move"


def rank_what(e: Event) -> str:
    """What an event's rank ranks: "3-month decline", "monthly net selling", "net selling streak"."""
    if KINDS[e.kind].claim == Claim.STREAK:
        return f"{noun(e)} streak"
    span = "yearly" if e.calendar_year else f"{e.window}-month" if e.window > 1 else "monthly"
    unit = " (%)" if e.unit == "pct" else ""
    return f"{span} {noun(e)}{unit}"


def note_text(c: Caveat) -> str:
    """A caveat as the message states it."""
    if c.kind == RANKED_ACROSS:
        return f"ranked across a series break: {c.brk}"
    if c.kind == COMPARED_ACROSS:
        return f"levels compared across a series break: {c.brk}"
    if c.kind == NET_NOT_AVAILABLE:
        if c.brk:
            return f"net transactions n.a.: the window spans a series break ({c.brk})"
        return "net transactions n.a. for this entity and window"
    raise ValueError(f"unknown caveat {c.kind!r}")


def part_label(p: Part) -> str:
    """A part of a move as the message names it ("valuation change of U.S. stocks" for an asset
    other than Treasury notes & bonds)."""
    if p.asset != TREASURY and p.kind in (ev.VALUATION_LT, ev.LT_HOLDINGS_CHANGE):
        what = FLOW_WORDS[ASSET_SERIES[p.asset]["net"]]
        return f"valuation change of {what}" if p.kind == ev.VALUATION_LT else f"change in {what} holdings"
    return PART_LABELS[p.kind]
