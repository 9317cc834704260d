"""The release-day alert as Telegram shows it: a photo caption (≤ 1,024) and, after it, text.

The caption holds the release's header and as many of its :data:`TOLD` rarest stories as fit,
the lead first; those that do not fit follow, in order, as text messages of at most 4,096
characters each, and a last line says how many more /latest shows. All data strings are
HTML-escaped; only <b> and <i> are used.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from collections.abc import Sequence

from bot.render.stories import TOLD
from bot.render.text import TELEGRAM_LIMIT, event_lines, month_name, telegram_length
from bot.rules.events import Event

CAPTION_LIMIT = 1024


@functools.lru_cache(maxsize=4096)
def event_block(e: Event) -> str:
    """One event in HTML: the headline in bold, then its rank, parts and notes (no rule line).

    Cached: at a hand-over thousands of chats share the same few events."""
    lines = event_lines(e)[:-1]
    return "\n".join([f"• <b>{html.escape(lines[0])}</b>", *(html.escape(x) for x in lines[1:])])


@functools.lru_cache(maxsize=4096)
def event_digest(e: Event) -> str:
    """What a reader sees of an event: when it changes (a companion file adds its parts), edit."""
    return hashlib.sha256(event_block(e).encode()).hexdigest()[:16]


def header(months: Sequence[str], count: int, update: bool = False) -> str:
    when = " and ".join(month_name(m, "%B %Y") for m in months)
    if update:
        return f"<b>TIC release update, data for {html.escape(when)}</b> (now that more files are out)"
    what = f"{count} alert{'s' if count != 1 else ''}" if count else "no alert for your rules"
    return f"<b>TIC release: data for {html.escape(when)}</b> · {what}"


def pack(head: str, blocks: Sequence[str], first_limit: int = CAPTION_LIMIT) -> list[str]:
    """Header and blocks into messages: the first within ``first_limit``, the rest within 4,096.

    Blocks keep their order; a block too long for any message is cut at the limit with "…"
    (an event is a few hundred characters, so this guards against the impossible, not a case).
    """
    out: list[str] = []
    current, limit = head, first_limit
    for block in blocks:
        candidate = f"{current}\n\n{block}" if current else block
        if telegram_length(candidate) <= limit:
            current = candidate
            continue
        out.append(current)
        limit = TELEGRAM_LIMIT
        current = block if telegram_length(block) <= limit else block[: limit - 1] + "…"
    out.append(current)
    return out


def alert_messages(months: Sequence[str], events: Sequence[Event], extra: str | None = None) -> list[str]:
    """[caption, text, …]: the photo's caption then the text messages that follow it: the
    :data:`TOLD` rarest stories, lead first, then how many more /latest shows."""
    blocks = [event_block(e) for e in events[:TOLD]]
    if len(events) > TOLD:
        blocks.append(f"… and {len(events) - TOLD} more: /latest")
    if extra:
        blocks.append(extra)
    return pack(header(months, len(events)), blocks)


def followup_messages(months: Sequence[str], events: Sequence[Event]) -> list[str]:
    """Text messages (no photo) for events that fire only now that more files are out."""
    return pack(header(months, len(events), update=True), [event_block(e) for e in events], TELEGRAM_LIMIT)


def plain_text(html_text: str) -> str:
    """A Telegram HTML message as plain text (tags dropped, entities decoded): the fallback when
    Telegram refuses the HTML."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))
