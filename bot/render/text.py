"""The release-day message, pure: summary + events → plain text (terminal) and Telegram HTML.

Both forms say the same thing: the release summary (data month, headline holders, groups,
Foreign Official holdings and net transactions) and the stories that fire, each claim with its
rank in history and, for a holdings move, its net-transaction and valuation parts. The HTML
pieces (a story, the summary) use only Telegram's subset (<b>, <i>, <pre>) and escape every data
string; :mod:`bot.render.alert` packs them into messages within Telegram's limits.

Figures are $bn as the panel holds them, shown to one decimal ($bn) or one decimal (%).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import pandas as pd

from bot.data.entities import (
    AGENCY_NET,
    CORP_NET,
    EQUITY_NET,
    FOREIGN_NON_OFFICIAL,
    FOREIGN_OFFICIAL,
    GRAND_TOTAL,
    HOLDINGS,
    LT_HOLDINGS,
    LT_NET,
    ST_HOLDINGS,
    TREASURY,
)
from bot.data.ranking import WindowRank
from bot.render.stories import (
    INFORMATIVE_RANK,
    RANKED_HISTORY,
    TOLD,
    clause,
    headline,
    level_said,
    member_line,
    month_name,
    num,
    ordinal,
    parts_phrase,
    rank_phrase,
    states_level,
)
from bot.render.summary import HeadlineFlows, HolderRow, ReleaseSummary
from bot.render.wording import FLOW_WORDS, note_text
from bot.rules.events import Event, Story, stories
from bot.rules.kinds import KINDS, Claim


def event_lines(e: Event) -> list[str]:
    """The event as short plain lines: headline, rank, parts, notes, rule."""
    return story_lines(Story((e,)))


def story_lines(s: Story) -> list[str]:
    """A story as short plain lines: the lead's headline and rank, then each other claim on one
    line ("– " its clause and its own rank), the parts of a move (its net/valuation split), the
    notes and the group's "of which" said once each, and last the rules that fired."""
    lines: list[str] = []
    parts = level = False
    # the lows/highs stated: a move's "to 652.3bn, the lowest since …", or a level's
    said: set[tuple[str, str, str | None] | None] = set()
    # a story that tells other assets too names the Treasuries ("Treasury holdings fell 138.4bn")
    mixed = any(e.asset != TREASURY for e in s.events) and any(e.asset == TREASURY for e in s.events)

    def named(e: Event, text: str) -> str:
        return treasury_words(text) if mixed and e.asset == TREASURY else text

    for e in s.events:
        rank = rank_phrase(e)
        if not lines:  # the round-up is no story of one holder: "Also: …"
            lines += [("Also: " if s.roundup else "") + named(e, headline(e)), *([rank] if rank else [])]
        elif e.entity != s.lead.entity:  # the release's round-up of record levels
            lines.append(f"– {named(e, headline(e))}")
        elif KINDS[e.kind].claim != Claim.LEVEL or level_said(e) not in said:
            lines.append(f"– {named(e, clause(e, level=not level))}" + (f"; {rank}" if rank else ""))
        if not level:
            said.add(level_said(e))
        level |= states_level(e)
        more = [f"note: {note_text(n)}" for n in e.notes]
        split = bool(e.parts) and not parts  # this event's parts are the story's (said once)
        if split:
            more.insert(0, parts_phrase(e.parts) or "")
            parts = True
        more += [_members_line(e, split), *(f"– {member_line(m)}" for m in e.members)]
        more += [_within(e, group, v) for group, v in e.within]
        lines += [x for x in more if x and x not in lines]
    fired = [
        f"{e.rule} ({'' if e.asset == TREASURY else e.asset + '; '}{e.severity}; threshold {e.threshold:g})"
        for e in s.events
    ]
    lines.append(f"rule{'s' if len(fired) > 1 else ''} {', '.join(fired)}; data month {s.lead.end}")
    return lines


def treasury_words(text: str) -> str:
    """ "holdings fell 138.4bn" → "Treasury holdings fell 138.4bn", "net sales of notes & bonds" →
    "net sales of Treasury notes & bonds": the first such words of a Treasury claim."""
    for words in ("notes & bonds", "bonds & notes holdings", "holdings"):
        at = text.find(words)
        if at >= 0 and (at == 0 or text[at - 1] == " "):
            return f"{text[:at]}Treasury {text[at:]}"
    return text


def _members_line(e: Event, parts_shown: bool) -> str:
    """ "of which Japan -166.3, China, Mainland -61.3": the members' moves folded into a group's
    event, but those its parts (when shown) already split by member (a group's net flows)."""
    if not e.folded:  # members told as lines of their own, as stories of their own, or lows
        return ""
    split = {(m, num(v)) for p in e.parts for m, v in p.members} if parts_shown else set()
    what = {LT_HOLDINGS: " bonds & notes", ST_HOLDINGS: " bills", LT_NET: " net"}
    what |= {b: f" net {FLOW_WORDS[b]}" for b in FLOW_WORDS if b != LT_NET}
    shown = [(m, b, v) for m, b, v in e.folded if b != e.basis or (m, num(v)) not in split]
    return "of which " + ", ".join(f"{m}{what.get(b, '')} {num(v)}" for m, b, v in shown) if shown else ""


def _within(e: Event, group: str, value: float) -> str:
    """ "China + Belgium -41.7 (the rest of the group -0.7)": a group's same move, told here (the
    Grand Total's: "Grand Total +1,824.9 (Foreign Official +119.4)", its other sector)."""
    rest = (
        OTHER_SECTOR.get(e.entity, "the rest of the group")
        if group == GRAND_TOTAL
        else "the rest of the group"
    )
    return f"{group} {num(value)} ({rest} {num(value - e.size)})"


OTHER_SECTOR = {FOREIGN_OFFICIAL: FOREIGN_NON_OFFICIAL, FOREIGN_NON_OFFICIAL: FOREIGN_OFFICIAL}


def stated_twice(told: Iterable[Story]) -> int:
    """How many times stories state a move or level already stated in their release: the same
    figure (entity, basis, window, value) in two stories, or twice in one story's text."""
    where: dict[tuple[str, str, str, str, str, float, str], list[Story]] = {}
    for s in told:
        for e in (x for ev in s.events for x in (ev, *ev.members)):  # members' own lines too
            where.setdefault((e.release, e.entity, e.basis, e.start, e.end, e.value, e.unit), []).append(s)
    twice = 0
    for (*_, value, unit), found in where.items():
        if len(found) < 2:
            continue
        if any(f is not found[0] for f in found):
            twice += len({id(f) for f in found}) - 1
        figure = f"{abs(value):,.1f}{'%' if unit == 'pct' else 'bn'}"
        said = re.findall(rf"(?<![\d,.]){re.escape(figure)}", "\n".join(story_lines(found[0])))
        twice += max(0, len(said) - 1)
    return twice


def story_html(s: Story) -> str:
    """A story in Telegram HTML: the lead's headline in bold, then its lines (notes in italics),
    without the rules line."""
    first, *rest = story_lines(s)[:-1]
    body = [f"<i>{html.escape(x)}</i>" if x.startswith("note:") else html.escape(x) for x in rest]
    return "\n".join([f"• <b>{html.escape(first)}</b>", *body])


def backtest_text(events: Iterable[Event], first: str, last: str) -> str:
    """`tic-alert backtest`: a header, then one line per story (:func:`story_line`)."""
    events = list(events)
    told = stories(events)
    head = (
        f"Backtest {first}..{last}: {len(events)} event{'s' * (len(events) != 1)} in {len(told)} "
        f"stor{'ies' if len(told) != 1 else 'y'}; each month sees only data up to that month "
        "(today's vintage of history)"
    )
    return "\n".join([head, *(story_line(s) for s in told)])


def story_line(s: Story) -> str:
    """One line for the backtest: month, severity, the lead's rule (+ how many more claims), then
    the story's sentences as the message tells them."""
    body = " | ".join(story_lines(s)[:-1])
    rule = s.lead.rule + (f" +{len(s.events) - 1}" if len(s.events) > 1 else "")
    return f"{s.lead.release}  {s.severity:<7}  {rule:<24}  {body}"


FLOW_RANKED = 10  # the headline flows say their rank when it is among the ten largest

# --- the release message --------------------------------------------------------------------------------


def summary_lines(summary: ReleaseSummary, verbose: bool = False) -> list[str]:
    """The release summary table as plain lines (the body of `tic-alert check` before events);
    ``verbose`` adds what the operator wants and a subscriber does not (files, vintage conflicts)."""
    month = pd.Period(summary.data_month, "M")
    lines = [
        f"TIC release: data for {month.strftime('%B %Y')} ({summary.unit})",
        *(["Files: " + "; ".join(f"{n} {v}" for n, v in summary.files.items())] if verbose else []),
        *(headline_lines(summary.headline) if summary.headline else []),
        "",
        f"{'Holdings of U.S. Treasuries':<28}{month.strftime('%b %Y'):>10}{'1m':>9}{'3m':>9}{'12m':>9}",
    ]
    fo = summary.foreign_official
    table: list[tuple[HolderRow, str | None]] = [
        (r, None) for r in (summary.grand_total, *summary.top_holders, *summary.groups, fo.holdings)
    ]
    table += [(fo.bills, "  of which bills"), (fo.bonds_notes, "  of which bonds & notes")]
    rows = [_row(r, label) for r, label in table]
    if any(len(r.rstrip()) > 65 for r in rows):  # 65: the width of the figures
        lines[-1] += "   3-month move in history"  # a column only when a move ranks among the largest
    lines += [r.rstrip() for r in rows]
    flows = summary.foreign_official_flows
    if flows:
        net = flows.net_lt
        nm = pd.Period(net.month, "M").strftime("%b %Y")
        lines += [
            "",
            f"Foreign Official net long-term Treasury transactions (SLT Table 3; > 0 = bought), {nm}:",
        ]
        rank = _rank(net.rank_3m, "net selling", "net buying")
        rank = f" ({rank})" if rank else ""
        lines.append(f"  net {num(net.value)}, 3 months {num(net.change_3m)}{rank}")
        if flows.valuation_lt:
            val = flows.valuation_lt
            lines.append(
                f"  valuation change of bonds & notes {num(val.value)}, 3 months {num(val.change_3m)}"
            )
    if summary.conflicts and verbose:
        lines += ["", f"Note: {summary.conflicts} cells differ between file vintages (newer file kept)."]
    return lines


TYPE_WORDS = {LT_NET: "Treasuries", AGENCY_NET: "agencies", CORP_NET: "corporates", EQUITY_NET: "stocks"}


def headline_lines(h: HeadlineFlows) -> list[str]:
    """ "Net foreign purchases of long-term U.S. securities, Apr 2026 (> 0 = bought): +205.9, the
    5th largest net buying on record (since Jan 1977); Treasuries +50.5, agencies …": the
    Treasury's own headline, each figure ranked when it is among the ten largest of its way."""
    when = pd.Period(h.total.month, "M").strftime("%b %Y")
    types = ", ".join(f"{TYPE_WORDS.get(r.series, r.series)} {num(r.value)}{_flow_rank(r)}" for r in h.types)
    lines = ["", f"Net foreign purchases of long-term U.S. securities, {when} (> 0 = bought):"]
    lines.append(f"  {num(h.total.value)}{_flow_rank(h.total)}" + (f": {types}" if types else ""))
    if h.sectors:
        lines.append("  " + ", ".join(f"{r.entity} {num(r.value)}{_flow_rank(r)}" for r in h.sectors))
    return lines


def _flow_rank(r: HolderRow) -> str:
    """ " (the 5th largest net buying on record, since Jan 1977)" for a month among the ten
    largest of its way in five years of history or more; "" otherwise."""
    k = r.rank_1m
    if k is None or k.rank > FLOW_RANKED or k.windows < RANKED_HISTORY:
        return ""
    way = "net selling" if k.direction == "decline" else "net buying"
    place = "largest" if k.rank == 1 else f"{ordinal(k.rank)} largest"
    return f" (the {place} {way} on record, since {month_name(k.since)})"


def _row(r: HolderRow, label: str | None = None) -> str:
    label = label or (r.entity if r.series == HOLDINGS else r.series)
    return (
        f"{label[:27]:<28}{num(r.value, sign=False):>10}{num(r.change_1m):>9}"
        f"{num(r.change_3m):>9}{num(r.change_12m):>9}   "
        f"{_rank(r.rank_3m, 'decline', 'increase')}"
    )


def _rank(r: WindowRank | None, down: str, up: str) -> str:
    if not r:
        return "n.a."
    if r.rank > INFORMATIVE_RANK or r.windows < RANKED_HISTORY:
        return ""
    what = down if r.direction == "decline" else up
    place = "largest" if r.rank == 1 else f"{ordinal(r.rank)} largest"
    return f"{place} {what} of {r.of} since {month_name(r.since)}"


def render_text(summary: ReleaseSummary, events: Iterable[Event] = (), verbose: bool = False) -> str:
    """The plain-text message (terminal): summary, then the :data:`TOLD` rarest stories, the lead
    first, each a holder's events (``verbose``: every story)."""
    events = list(events)
    told = stories(events)
    lines = summary_lines(summary, verbose=verbose)
    if events:
        rarest = f"{len(told)} stories, the rarest first" if len(told) > 1 else "1 story"
        lines += ["", f"Events ({len(events)}): {rarest}"]
    else:
        lines += ["", "Events: none of the rules fires on this release."]
    shown = told if verbose else told[:TOLD]
    for story in shown:
        first, *rest = story_lines(story)
        lines.append(f"* {first}")
        lines += [f"  {x}" for x in rest]
    if len(shown) < len(told):
        lines.append(f"… and {len(told) - len(shown)} more (tic-alert check --verbose; /latest in the bot)")
    return "\n".join(lines)


def summary_html(summary: ReleaseSummary) -> str:
    """The release summary alone (title and table), the message after a summary-mode chat's or a
    channel's alert: it says nothing about alerts, the alert above it does
    (:mod:`bot.render.alert` packs the stories and this within Telegram's limits)."""
    title, _blank, *table = summary_lines(summary)
    return f"<b>{html.escape(title)}</b>\n\n<pre>{html.escape(chr(10).join(table))}</pre>"
