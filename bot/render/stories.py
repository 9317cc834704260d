"""An event in words: its headline (one English table keyed by kind, :data:`HEADLINES`), its
rank in history and the parts of its move. Figures are $bn to one decimal (or % to one decimal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from bot.data.entities import HOLDINGS, LT_HOLDINGS, ST_HOLDINGS
from bot.render.wording import BY_US_RESIDENTS, FLOW_WORDS, flow_words, is_flow, part_label, rank_what
from bot.rules.events import LT_HOLDINGS_CHANGE, VALUATION_LT, Event, Part
from bot.rules.kinds import KINDS, Claim, KindName

TOLD = 5  # stories a release alert tells, rarest first; the rest: check --verbose and /latest
SINCE_YEARS = 2  # a move that is not a record is worded "largest since <date>" from 2 years
INFORMATIVE_RANK = 3  # a rank is worded only when it is news: the largest, 2nd or 3rd largest
# ... and only over 5 years of history or more, as the record rules ask (min_history 60): Foreign
# Official's net flows start with SLT Table 3 in 2023-02, and "the largest since 2023-02" is no record
RANKED_HISTORY = 60  # months
SOURCE_LABEL = {
    "Form S": "Form S, net notes & bonds",
    "SLT Table 3": "SLT Table 3",
}


# --- numbers and months --------------------------------------------------------------------------------


def num(v: float | None, sign: bool = True) -> str:
    """A $bn figure to one decimal, signed by default; n.a. for a missing one."""
    if v is None or pd.isna(v):
        return "n.a."
    return f"{v:+,.1f}" if sign else f"{v:,.1f}"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def month_name(m: str | pd.Period, fmt: str = "%b %Y") -> str:
    return pd.Period(m, "M").strftime(fmt)


def span(e: Event) -> str:
    """The window in words: end-Jul → end-Oct 2022 for a stock, Dec 2015–Feb 2016 for a flow."""
    start, end = pd.Period(e.start, "M"), pd.Period(e.end, "M")
    if is_flow(e.basis) or KINDS[e.kind].claim in (Claim.LEVEL, Claim.TURN):
        if start == end:
            return end.strftime("%b %Y")
        if start.month == 1 and end.month == 12 and start.year == end.year:
            return f"in {end.year}"
        first = start.strftime("%b") if start.year == end.year else start.strftime("%b %Y")
        return f"{first}–{end.strftime('%b %Y')}"
    before = start - 1
    first = before.strftime("%b") if before.year == end.year else before.strftime("%b %Y")
    return f"end-{first} → end-{end.strftime('%b %Y')}"


def months_between(first: str, last: str) -> int:
    """Months first..last, both counted."""
    return (pd.Period(last, "M") - pd.Period(first, "M")).n + 1


def months_word(n: int) -> str:
    words = {1: "one month", 2: "two months", 3: "three months", 6: "six months", 12: "twelve months"}
    return words.get(n, f"{n} months")


# --- events ------------------------------------------------------------------------------------------


BASIS_WORDS = {HOLDINGS: "holdings", LT_HOLDINGS: "bonds & notes holdings", ST_HOLDINGS: "bills holdings"}


def headline(e: Event) -> str:
    """One sentence: who, what basis, how much, over which window (:data:`HEADLINES`)."""
    claim = KINDS[e.kind].claim
    joined = claim == Claim.STREAK or (claim in (Claim.MOVE, Claim.TURN) and is_flow(e.basis))
    return f"{e.entity}{': ' if joined else ' '}{clause(e)}"


def clause(e: Event, level: bool = True) -> str:
    """The headline without its holder: what a story's other claims say after its lead
    ("record net sales of notes & bonds of 27.9bn (Oct–Dec 2024)"). ``level``: state the holdings
    level (False when the story has said it already)."""
    return HEADLINES[KindName(e.kind)](e, level)


def states_level(e: Event) -> bool:
    """Does the event's clause state the holdings level (a low/high, a rank change, a move that
    ends at a level rare enough to say, :func:`at_level`)?"""
    return KINDS[e.kind].claim in (Claim.LEVEL, Claim.RANK) or bool(at_level(e))


def at_level(e: Event) -> str:
    """ ", to 652.3bn, the lowest since Sep 2008": where a holdings move ends, when the rules found
    that level a claim (the lowest for a decline, the highest for a rise, in two years or more, or
    a record; :data:`~bot.rules.build.LEVEL_YEARS`); its caveats are the event's notes."""
    if e.level_since is None or e.level is None:
        return ""
    word, month = ("low" if e.value < 0 else "high"), e.level_since[1]
    when = f"the {word}est since {month_name(month)}" if month else f"a record {word}"
    return f", to {num(e.level, sign=False)}bn, {when}"


def member_line(m: Event) -> str:
    """A member's own claim under its group's story: "China, Mainland at 652.3bn, the lowest since
    Sep 2008" (a low or high), "China, Mainland -41.0, to 652.3bn, the lowest since Sep 2008" (a
    move that ends at one), else its clause ("Ireland holdings fell a record 32.4bn …")."""
    who = m.entity + (
        "" if m.basis == HOLDINGS or is_flow(m.basis) else f" {BASIS_WORDS.get(m.basis, m.basis)}"
    )
    if KINDS[m.kind].claim == Claim.LEVEL:
        word = "low" if m.direction == "low" else "high"
        when = f"the {word}est since {month_name(m.extreme_since)}" if m.extreme_since else f"a record {word}"
        return f"{who} at {num(m.value, sign=False)}bn, {when}"
    if at_level(m):
        return f"{who} {num(m.value)}{at_level(m)}"
    return headline(m)


def level_said(e: Event) -> tuple[str, str, str | None] | None:
    """The low/high an event states (basis, low or high, since when), to say it once a story."""
    if KINDS[e.kind].claim == Claim.LEVEL:
        return (e.basis, e.direction, e.extreme_since)
    if at_level(e) and e.level_since is not None:
        return (e.basis, "low" if e.value < 0 else "high", e.level_since[1])
    return None


def _level(e: Event, level: bool) -> str:
    word = "low" if e.direction == "low" else "high"
    years = f"{e.metric:.1f}".rstrip("0").rstrip(".")
    years += " year" if years == "1" else " years"
    when = (
        f"{word}est since {month_name(e.extreme_since)} ({years})"
        if e.extreme_since
        else f"a record {word} ({years} of data)"
    )
    what = BASIS_WORDS.get(e.basis, "")
    if not level:
        return f"{what} at the {when}" if e.extreme_since else f"{what} at {when}"
    return f"{what} at {num(e.value, sign=False)}bn in {month_name(e.end)}: {when}"


def _rank_change(e: Event, level: bool) -> str:
    moved = "rose" if (e.rank_to or 0) < (e.rank_from or 0) else "fell"
    verb = "passing" if moved == "rose" else "passed by"
    passed = f", {verb} {', '.join(e.passed)}" if e.passed else ""
    size = f"; {num(e.value, sign=False)}bn" if level else ""
    return (
        f"{moved} to {ordinal(e.rank_to or 0)} largest holder in {month_name(e.end)} "
        f"(from {ordinal(e.rank_from or 0)}{size}){passed}"
    )


def _streak(e: Event, level: bool) -> str:
    if is_flow(e.basis):
        side = "sellers" if e.direction == "decline" else "buyers"
        doing = f"net {side} of {flow_words(e.basis)}"
        if e.basis in BY_US_RESIDENTS:  # the buyers are U.S. residents, not the holder
            doing = f"U.S. residents net {side} of {FLOW_WORDS[e.basis]}"
    else:
        doing = f"{BASIS_WORDS.get(e.basis, '')} {'fell' if e.direction == 'decline' else 'rose'}"
    run = f"for the {ordinal(e.streak or 0)} month running"
    return f"{doing} {run} ({span(e)}, {num(e.value)}bn in all)"


def _move(e: Event, level: bool) -> str:
    amount = f"{abs(e.value):,.1f}%" if e.unit == "pct" else f"{abs(e.value):,.1f}bn"
    is_record = KINDS[e.kind].says_record and e.rank is not None and e.rank.rank == 1
    if is_flow(e.basis):
        verb = "net sales" if e.value < 0 else "net purchases"
        when = span(e)
        when = when if when.startswith("in ") else f"({when})"
        return f"{'record ' if is_record else ''}{verb} of {flow_words(e.basis)} of {amount} {when}"
    verb = "fell" if e.value < 0 else "rose"
    what = BASIS_WORDS.get(e.basis, "")
    verb += " a record" if is_record else ""
    start = None if e.level is None else e.level - e.value  # the holder's size before the move
    share = f" ({abs(e.value) / start:.1%} of holdings)" if e.unit == "bn" and start and start > 0 else ""
    return f"{what} {verb} {amount}{share} in {months_word(e.window)} ({span(e)})" + (
        at_level(e) if level else ""
    )


def _turn(e: Event, level: bool) -> str:
    """ "holdings rose 2.1bn in Jul 2022, the first rise since Nov 2021"; for net flows, "net
    sellers of notes & bonds (22.5bn in Apr 2017) for the first time since Oct 2016"."""
    since = f"since {month_name(e.extreme_since)}" if e.extreme_since else "in its history"
    amount = f"{abs(e.value):,.1f}bn"
    if is_flow(e.basis):
        side = "sellers" if e.value < 0 else "buyers"
        doing = f"net {side} of {flow_words(e.basis)}"
        if e.basis in BY_US_RESIDENTS:  # the buyers are U.S. residents, not the holder
            doing = f"U.S. residents net {side} of {FLOW_WORDS[e.basis]}"
        return f"{doing} ({amount} in {span(e)}) for the first time {since}"
    verb, noun = ("fell", "fall") if e.value < 0 else ("rose", "rise")
    return f"{BASIS_WORDS.get(e.basis, '')} {verb} {amount} in {span(e)}, the first {noun} {since}"


# the English of each kind's clause (its headline after the holder): one table, one row per kind
HEADLINES: dict[KindName, Callable[[Event, bool], str]] = {
    KindName.CHANGE: _move,
    KindName.RECORD: _move,
    KindName.LARGEST_SINCE: _move,
    KindName.OFFICIAL_SELLING: _move,
    KindName.STREAK: _streak,
    KindName.MULTI_YEAR: _level,
    KindName.RANK_CHANGE: _rank_change,
    KindName.FIRST_SINCE: _turn,
}


def rank_phrase(e: Event) -> str | None:
    """ "the largest 3-month decline on record (since Jun 2000, 99 periods); previous record -171.2
    in Nov 2016", or for a move that is not a record, "the largest monthly decline since Nov 2016
    (4th largest on record: since Apr 2000, 155 periods)"; months as "Mon YYYY" throughout."""
    r = e.rank
    if r is None or months_between(r.since, r.until) < RANKED_HISTORY:
        return None
    streak = KINDS[e.kind].claim == Claim.STREAK
    word = "longest" if streak else "largest"
    if e.calendar_year:  # calendar years: "since 1977, 9 years"
        history = f"since {r.since[:4]}, {r.of} years"
    else:
        history = f"since {month_name(r.since)}, {r.of} {'runs' if streak else 'periods'}"
    what = rank_what(e)
    if r.rank > 1 and e.extreme_since and e.rarity >= SINCE_YEARS:  # "largest since <date>"
        place = f"{ordinal(r.rank)} {word}"
        return f"the {word} {what} since {month_name(e.extreme_since)} ({place} on record: {history})"
    if r.rank > INFORMATIVE_RANK:  # "171st largest of 245" is not news
        return None
    place = word if r.rank == 1 else f"{ordinal(r.rank)} {word}"
    text = f"the {place} {what} on record ({history})"
    if r.previous is not None:
        prev_value, prev_month = r.previous
        label = ("previous " if r.rank == 1 else "") + ("longest" if streak else "record")
        if streak:
            text += f"; {label} {prev_value:.0f} months to {month_name(prev_month)}"
        else:
            shown = f"{prev_value:+,.1f}%" if e.unit == "pct" else num(prev_value)
            when = prev_month[:4] if e.calendar_year else month_name(prev_month)
            text += f"; {label} {shown} in {when}"
    return text


def parts_phrase(parts: Sequence[Part]) -> str | None:
    """ "of which: net transactions in bonds & notes −29.6 (Form S: Japan −46.5, China, Mainland
    +16.9); …" for a holdings move. Net transactions are not made of prices and the stock: for
    them, what the holdings did beside ("change in bonds & notes holdings −96.5 (SLT Table 5), of
    which valuation −52.6 (SLT Table 3), other −59.8 (remainder)")."""
    if not parts:
        return None
    held = next((p for p in parts if p.kind == LT_HOLDINGS_CHANGE), None)
    valuation = next((p for p in parts if p.kind == VALUATION_LT), None)
    if held is None:
        return "of which: " + "; ".join(_part(p) for p in parts)
    rest = next((p for p in parts if p.derived), None)
    split = [p for p in parts if p not in (held, valuation, rest)]
    beside = _part(held) + (
        f", of which valuation {num(valuation.value)} ({valuation.source})" if valuation else ""
    )
    beside += f", other {num(rest.value)} (remainder)" if rest else ""
    return "; ".join([*(["of which: " + "; ".join(_part(p) for p in split)] if split else []), beside])


def _part(p: Part) -> str:
    detail = []
    if p.source and not p.derived:
        detail.append(SOURCE_LABEL.get(p.source, p.source))
    if p.derived:
        detail.append("remainder")
    if p.members:
        detail.append(", ".join(f"{m} {num(v)}" for m, v in p.members))
    return f"{part_label(p)} {num(p.value)}" + (f" ({'; '.join(detail)})" if detail else "")
