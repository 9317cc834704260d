"""The release-day message, pure: summary + events → plain text (terminal) and Telegram HTML.

Both forms say the same thing: the release summary (data month, headline holders, groups,
Foreign Official holdings and net transactions) followed by the events that fire, each with its
rank in history and, for a holdings move, its net-transaction and valuation parts. The HTML
form uses only Telegram's subset (<b>, <i>, <pre>), escapes every data string and stays within
:data:`TEXT_LIMIT`; what does not fit is counted, never silently dropped.

Figures are $bn as the panel holds them, shown to one decimal ($bn) or one decimal (%).
"""

from __future__ import annotations

import html
from collections.abc import Iterable

import pandas as pd

from bot.data.entities import HOLDINGS, LT_HOLDINGS, LT_NET, ST_HOLDINGS
from bot.data.ranking import WindowRank
from bot.render.limits import TEXT_LIMIT, telegram_length
from bot.render.stories import INFORMATIVE_RANK, headline, month_name, num, ordinal, parts_phrase, rank_phrase
from bot.render.summary import HolderRow, ReleaseSummary
from bot.render.wording import note_text
from bot.rules.events import Event


def event_lines(e: Event) -> list[str]:
    """The event as short plain lines: headline, rank, parts, notes, rule."""
    lines = [headline(e)]
    for extra in (rank_phrase(e), parts_phrase(e.parts)):
        if extra:
            lines.append(extra)
    lines += [f"note: {note_text(n)}" for n in e.notes]
    if e.folded:
        what = {LT_HOLDINGS: " bonds & notes", ST_HOLDINGS: " bills", LT_NET: " net"}
        lines.append("of which " + ", ".join(f"{m}{what.get(b, '')} {num(v)}" for m, b, v in e.folded))
    elif e.suppressed:
        lines.append(f"also fired for members: {', '.join(e.suppressed)}")
    lines.append(f"rule {e.rule} ({e.severity}; threshold {e.threshold:g}; data month {e.end})")
    return lines


def event_line(e: Event) -> str:
    """One line for the backtest: month, severity, rule, then the event's sentences."""
    body = " | ".join(event_lines(e)[:-1])
    return f"{e.release}  {e.severity:<7}  {e.rule:<24}  {body}"


# --- the release message --------------------------------------------------------------------------------


def summary_lines(summary: ReleaseSummary, top: int | None = None, verbose: bool = False) -> list[str]:
    """The release summary table as plain lines (the body of `tic-alert check` before events);
    ``verbose`` adds what the operator wants and a subscriber does not (files, vintage conflicts)."""
    month = pd.Period(summary.data_month, "M")
    lines = [
        f"TIC release: data for {month.strftime('%B %Y')} ({summary.unit})",
        *(["Files: " + "; ".join(f"{n} {v}" for n, v in summary.files.items())] if verbose else []),
        "",
        f"{'Holdings of U.S. Treasuries':<28}{month.strftime('%b %Y'):>10}{'1m':>9}{'3m':>9}{'12m':>9}",
    ]
    holders = summary.top_holders if top is None else summary.top_holders[:top]
    fo = summary.foreign_official
    table: list[tuple[HolderRow, str | None]] = [
        (r, None) for r in (summary.grand_total, *holders, *summary.groups, fo.holdings)
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
    if r.rank > INFORMATIVE_RANK:
        return ""
    what = down if r.direction == "decline" else up
    place = "largest" if r.rank == 1 else f"{ordinal(r.rank)} largest"
    return f"{place} {what} of {r.of} since {r.since}"


def render_text(summary: ReleaseSummary, events: Iterable[Event] = (), verbose: bool = False) -> str:
    """The plain-text message (terminal): summary, then every event that fires."""
    events = list(events)
    lines = summary_lines(summary, verbose=verbose)
    lines += ["", f"Events ({len(events)})" if events else "Events: none of the rules fires on this release."]
    for e in events:
        first, *rest = event_lines(e)
        lines.append(f"* {first}")
        lines += [f"  {x}" for x in rest]
    return "\n".join(lines)


def render_html(summary: ReleaseSummary, events: Iterable[Event] = (), limit: int = TEXT_LIMIT) -> str:
    """The Telegram message (HTML subset, escaped), within ``limit``.

    If everything does not fit, the holders table is shortened, then the least important events
    (the list is ordered most severe first) are replaced by one line saying how many were left out.
    """
    events = list(events)
    top = len(summary.top_holders)
    for top_n in sorted({top, min(top, 5), 0}, reverse=True):
        for shown in range(len(events), -1, -1):
            text = _html(summary, events, top_n, shown)
            if telegram_length(text) <= limit:
                return text
    month = html.escape(month_name(summary.data_month, "%B %Y"))
    return _cut(f"<b>TIC release: data for {month}</b>\n{len(events)} events: see /latest", limit)


def _html(summary: ReleaseSummary, events: list[Event], top: int, shown: int) -> str:
    esc = html.escape
    month = month_name(summary.data_month, "%B %Y")
    title, _blank, *table = summary_lines(summary, top=top)
    out = [f"<b>{esc(title)}</b>"]
    if events:
        out.append(f"<b>{len(events)} alert{'s' if len(events) != 1 else ''}</b>")
    for e in events[:shown]:
        first, *rest = event_lines(e)
        out.append(f"\n• <b>{esc(first)}</b>")
        out += [f"<i>{esc(x)}</i>" if x.startswith("note:") else esc(x) for x in rest[:-1]]
    if shown < len(events):
        out.append(f"\n… and {len(events) - shown} more alert(s) for {esc(month)}: see /latest")
    if not events:
        out.append("No alert fires on this release.")
    out.append(f"\n<pre>{esc(chr(10).join(table))}</pre>")
    return "\n".join(out)


def _cut(text: str, limit: int) -> str:
    while telegram_length(text) > limit:
        text = text[:-1]
    return text
