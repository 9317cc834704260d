"""An event in words: its headline (one English table keyed by kind, :data:`HEADLINES`), its
rank in history and the parts of its move. Figures are $bn to one decimal (or % to one decimal).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd

from bot.data.entities import HOLDINGS, LT_HOLDINGS, LT_NET, ST_HOLDINGS
from bot.render.wording import part_label, rank_what
from bot.rules.events import Event, Part
from bot.rules.kinds import KINDS, Claim, KindName

INFORMATIVE_RANK = 3  # a rank is worded only when it is news: the largest, 2nd or 3rd largest
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
    if e.basis == LT_NET or KINDS[e.kind].claim == Claim.LEVEL:
        if start == end:
            return end.strftime("%b %Y")
        first = start.strftime("%b") if start.year == end.year else start.strftime("%b %Y")
        return f"{first}–{end.strftime('%b %Y')}"
    before = start - 1
    first = before.strftime("%b") if before.year == end.year else before.strftime("%b %Y")
    return f"end-{first} → end-{end.strftime('%b %Y')}"


def months_word(n: int) -> str:
    words = {1: "one month", 2: "two months", 3: "three months", 6: "six months", 12: "twelve months"}
    return words.get(n, f"{n} months")


# --- events ------------------------------------------------------------------------------------------


BASIS_WORDS = {HOLDINGS: "holdings", LT_HOLDINGS: "bonds & notes holdings", ST_HOLDINGS: "bills holdings"}


def headline(e: Event) -> str:
    """One sentence: who, what basis, how much, over which window (:data:`HEADLINES`)."""
    return HEADLINES[KindName(e.kind)](e)


def _level(e: Event) -> str:
    word = "lowest" if e.direction == "low" else "highest"
    years = f"{e.metric:.1f}".rstrip("0").rstrip(".")
    when = (
        f"since {month_name(e.extreme_since)} ({years} years)"
        if e.extreme_since
        else f"in the available history ({years} years)"
    )
    what = BASIS_WORDS.get(e.basis, "")
    return f"{e.entity} {what} at {num(e.value, sign=False)}bn in {month_name(e.end)}: {word} {when}"


def _rank_change(e: Event) -> str:
    moved = "rose" if (e.rank_to or 0) < (e.rank_from or 0) else "fell"
    verb = "passing" if moved == "rose" else "passed by"
    passed = f", {verb} {', '.join(e.passed)}" if e.passed else ""
    return (
        f"{e.entity} {moved} to {ordinal(e.rank_to or 0)} largest holder in {month_name(e.end)} "
        f"(from {ordinal(e.rank_from or 0)}; {num(e.value, sign=False)}bn){passed}"
    )


def _streak(e: Event) -> str:
    if e.basis == LT_NET:
        side = "sellers" if e.direction == "decline" else "buyers"
        doing = f"net {side} of notes & bonds"
    else:
        doing = f"{BASIS_WORDS.get(e.basis, '')} {'fell' if e.direction == 'decline' else 'rose'}"
    run = f"for the {ordinal(e.streak or 0)} month running"
    return f"{e.entity}: {doing} {run} ({span(e)}, {num(e.value)}bn in all)"


def _move(e: Event) -> str:
    amount = f"{abs(e.value):,.1f}%" if e.unit == "pct" else f"{abs(e.value):,.1f}bn"
    is_record = KINDS[e.kind].says_record and e.rank is not None and e.rank.rank == 1
    if e.basis == LT_NET:
        verb = "net sales" if e.value < 0 else "net purchases"
        return f"{e.entity}: {'record ' if is_record else ''}{verb} of notes & bonds of {amount} ({span(e)})"
    verb = "fell" if e.value < 0 else "rose"
    what = BASIS_WORDS.get(e.basis, "")
    verb += " a record" if is_record else ""
    return f"{e.entity} {what} {verb} {amount} in {months_word(e.window)} ({span(e)})"


# the English of each kind's headline: one table, one row per kind
HEADLINES: dict[KindName, Callable[[Event], str]] = {
    KindName.CHANGE: _move,
    KindName.RECORD: _move,
    KindName.OFFICIAL_SELLING: _move,
    KindName.STREAK: _streak,
    KindName.MULTI_YEAR: _level,
    KindName.RANK_CHANGE: _rank_change,
}


def rank_phrase(e: Event) -> str | None:
    """ "largest 3-month decline since 2000-06 (of 99); previous record −171.2 in 2016-11" """
    r = e.rank
    if r is None or r.rank > INFORMATIVE_RANK:  # "171st largest of 245" is not news
        return None
    place = "largest" if r.rank == 1 else f"{ordinal(r.rank)} largest"
    streak = KINDS[e.kind].claim == Claim.STREAK
    if streak:
        place = "longest" if r.rank == 1 else f"{ordinal(r.rank)} longest"
    what = rank_what(e)
    if r.rank == 1:
        text = f"{place} {what} since {r.since} (of {r.of})"
    else:
        text = f"{place} {what} in {r.since}..{r.until} (of {r.of})"
    if r.previous is not None:
        prev_value, prev_month = r.previous
        label = "previous record" if r.rank == 1 else "record"  # the largest before, whatever the kind
        if streak:
            label = "previous longest" if r.rank == 1 else "longest"
            text += f"; {label} {prev_value:.0f} months to {prev_month}"
        else:
            shown = f"{prev_value:+,.1f}%" if e.unit == "pct" else num(prev_value)
            text += f"; {label} {shown} in {prev_month}"
    return text


def parts_phrase(parts: Sequence[Part]) -> str | None:
    """ "net transactions in bonds & notes −29.6 (Form S: Japan −46.5, China, Mainland +16.9); …" """
    if not parts:
        return None
    out = []
    for p in parts:
        detail = []
        if p.source and not p.derived:
            detail.append(SOURCE_LABEL.get(p.source, p.source))
        if p.derived:
            detail.append("remainder")
        if p.members:
            detail.append(", ".join(f"{m} {num(v)}" for m, v in p.members))
        out.append(f"{part_label(p)} {num(p.value)}" + (f" ({'; '.join(detail)})" if detail else ""))
    return "of which: " + "; ".join(out)
