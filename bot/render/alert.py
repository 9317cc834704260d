"""The release-day alert as Telegram shows it: a photo caption (≤ 1,024) and, after it, text.

A story is a release's events on one holder (:class:`~bot.rules.events.Story`): its rarest claim
leads, the others follow in the same block. The caption holds the release's header and as many
of its :data:`TOLD` rarest stories as fit, the lead first; those that do not fit follow, in
order, as text messages of at most 4,096 characters each, and a last line says how many more
/latest shows (:meth:`ReleaseMessages.latest`: every story, no cap). All data strings are
HTML-escaped; only <b> and <i> are used.
:class:`ReleaseMessages` renders one release's alerts, follow-ups and edits for every chat, each
distinct one once.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
from collections.abc import Sequence
from dataclasses import fields

from bot.data.panel import Panel
from bot.render.charts import flagged, main_chart
from bot.render.limits import CAPTION_LIMIT, TEXT_LIMIT, cut, telegram_length
from bot.render.stories import TOLD
from bot.render.summary import ReleaseSummary, build_summary
from bot.render.text import month_name, story_html, summary_html
from bot.rules.events import Event, Story, stories
from bot.store.outbox import DeliveryKind, Told

_FIELDS = tuple(f.name for f in fields(Event))
UNTOLD = "-"  # the digest of an event an alert counts but does not tell ("… and 2 more: /latest")
SUMMARY = "summary"  # the key of the release summary's digest, in what an alert that ends with it shows


def content(e: Event) -> tuple:
    """Everything of an event that its story renders: every field. (Events compare by less: the
    members folded in depend on a chat's rules, so two chats' "equal" events can read apart.)"""
    return tuple(getattr(e, name) for name in _FIELDS)


@functools.lru_cache(maxsize=4096)
def _story_html(told: tuple[tuple, ...]) -> str:
    """A story rendered from its events' content alone, so a cached text is only ever shared by
    stories that read the same (at a hand-over thousands of chats share the same few)."""
    return story_html(Story(tuple(Event(*c) for c in told)))


def story_block(s: Story) -> str:
    """One story in HTML."""
    return _story_html(tuple(content(e) for e in s.events))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def event_digest(e: Event) -> str:
    """What a reader sees of an event: when it changes (a companion file adds its parts), edit."""
    return digest(_story_html((content(e),)))


def shown(events: Sequence[Event], capped: bool, summary: str | None = None) -> tuple[tuple[str, str], ...]:
    """What a row with these events shows, as (event key, digest) pairs: each event's digest, or
    :data:`UNTOLD` for an event an alert (``capped``) only counts, and the digest of the release
    ``summary`` it ends with (under the key :data:`SUMMARY`). Equal pairs: the row reads the same."""
    told = {id(e) for s in (rarest(stories(events))[0] if capped else ()) for e in s.events}
    pairs = tuple((e.key, event_digest(e) if not capped or id(e) in told else UNTOLD) for e in events)
    return (*pairs, (SUMMARY, summary)) if summary is not None else pairs


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
        limit = TEXT_LIMIT
        current = cut(block, limit)
    out.append(current)
    return out


def alert_blocks(events: Sequence[Event], extra: str | None = None, capped: bool = True) -> list[str]:
    """An alert's blocks: the :data:`TOLD` rarest stories, lead first, then how many more
    /latest shows, then ``extra`` (a summary-mode chat's release summary). Not ``capped``
    (/latest): every story."""
    told, more = rarest(stories(events)) if capped else (stories(events), 0)
    blocks = [story_block(s) for s in told]
    if more:
        blocks.append(f"… and {more} more: /latest")
    return [*blocks, *([extra] if extra else [])]


def rarest(told: Sequence[Story]) -> tuple[list[Story], int]:
    """The :data:`TOLD` rarest stories of each release month (a release that adds two months
    tells both), and how many are left for /latest."""
    count: dict[str, int] = {}
    shown = []
    for s in told:
        count[s.lead.release] = count.get(s.lead.release, 0) + 1
        if count[s.lead.release] <= TOLD:
            shown.append(s)
    return shown, len(told) - len(shown)


def alert_messages(
    months: Sequence[str], events: Sequence[Event], extra: str | None = None, capped: bool = True
) -> list[str]:
    """[caption, text, …]: the photo's caption then the text messages that follow it
    (:func:`alert_blocks`); the header counts the stories."""
    return pack(header(months, len(stories(events))), alert_blocks(events, extra, capped))


def followup_blocks(events: Sequence[Event]) -> list[str]:
    """A follow-up's blocks: every story of the events that fire only now."""
    return [story_block(s) for s in stories(events)]


def followup_messages(months: Sequence[str], events: Sequence[Event]) -> list[str]:
    """Text messages (no photo) for events that fire only now that more files are out."""
    return pack(header(months, len(stories(events)), update=True), followup_blocks(events), TEXT_LIMIT)


class ReleaseMessages:
    """One release's messages, rendered once per distinct content however many chats get them:
    alerts (the caption and text, and the chart they go with), follow-ups and edits."""

    def __init__(
        self, month: str, months: Sequence[str], panel: Panel, summary: ReleaseSummary | None = None
    ):
        self.month = month
        self.months = tuple(months)
        self.panel = panel
        self.summary = summary or build_summary(panel)  # given: the one the caller built of ``panel``
        self.summary_html = summary_html(self.summary)  # says nothing about alerts: they precede it
        self.summary_digest = digest(self.summary_html)  # an edit when a companion file changes it
        self.charts: dict[str, bytes] = {}  # chart key → PNG, rendered once per flagged event
        self._alerts: dict[tuple, tuple[tuple[str, ...], str]] = {}

    def alert(self, events: Sequence[Event], every: bool) -> tuple[tuple[str, ...], str]:
        """The alert's messages and the key of its chart; ``every``: the summary follows the events.
        Rendered once per distinct content: chats whose events read the same share it."""
        key = (tuple(content(e) for e in events), every)
        if key not in self._alerts:
            messages = alert_messages(self.months, events, self.summary_html if every else None)
            self._alerts[key] = (tuple(messages), self.chart(events))
        return self._alerts[key]

    def latest(self, events: Sequence[Event], every: bool) -> tuple[tuple[str, ...], str]:
        """/latest: the alert with every story (no :data:`TOLD` cap), the caption then as many
        text messages as they take, and the key of its chart (not kept: asked for rarely)."""
        extra = self.summary_html if every else None
        return tuple(alert_messages(self.months, events, extra, capped=False)), self.chart(events)

    def chart(self, events: Sequence[Event]) -> str:
        e = flagged(events)
        key = f"{self.month}:{e.key if e else 'no-event'}"
        if key not in self.charts:
            self.charts[key] = main_chart(self.panel, self.summary, list(events))
        return key

    def followup(self, events: Sequence[Event]) -> tuple[str, ...]:
        return tuple(followup_messages(self.months, events))

    def shows(self, kind: DeliveryKind, events: Sequence[Event], every: bool) -> tuple[tuple[str, str], ...]:
        """What an alert (or an edit of one) or a follow-up with these events shows (:func:`shown`;
        ``every``: an alert ends with the release summary): recorded with the row, compared at the
        next hand-over."""
        alert = kind == DeliveryKind.ALERT
        return shown(events, capped=alert, summary=self.summary_digest if alert and every else None)

    def edit(self, of: Told, events: Sequence[Event], every: bool) -> tuple[str, ...] | None:
        """``of``'s messages with its events' new details, packed as it was (its header line as it
        was; the summary of a chat that gets every release stays last, after the events).

        None when the edit would not fit the same number of messages (then the reader keeps the
        first version: it said nothing wrong, it only lacked a part that is now known)."""
        if of.kind == DeliveryKind.ALERT:
            limit = CAPTION_LIMIT if of.chart_id is not None else TEXT_LIMIT
            messages = pack(of.head, alert_blocks(events, self.summary_html if every else None), limit)
        else:
            messages = pack(of.head, followup_blocks(events), TEXT_LIMIT)
        return tuple(messages) if len(messages) == of.count else None


def anew(first: str) -> str:
    """The first message of an edit sent as a new message (the message it corrects was deleted,
    or stayed behind when the group became a supergroup): said to be an update."""
    return f"<i>Updated (the earlier message could not be edited):</i>\n{first}"


def plain_text(html_text: str) -> str:
    """A Telegram HTML message as plain text (tags dropped, entities decoded): the fallback when
    Telegram refuses the HTML."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))
