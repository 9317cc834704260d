"""From hand-over to outbox: each chat's events and messages for a release, written as rows.

Called by the poller at every hand-over of a release, inside the poller's transaction (the same
SQLite connection), so the release's "handed over" mark and its outbox rows commit together.
Composition is pure (rules and render stages); the only writes are keyed rows, so a replayed or
doubled hand-over adds nothing:

* the first hand-over a chat sees (usually slt_table5 alone) → its **alert** (edition 0): a chart
  with a caption holding its events, biggest first, and text for what does not fit;
* a later hand-over (companions arrived) → a **follow-up** with the events that fire only now, and
  an **edit** of an earlier delivery whose events' details changed (e.g. the net-transaction part);
* a chat never gets the same event twice; a baseline release (the store's first) alerts nobody.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.data.entities import Group
from bot.data.panel import Panel
from bot.notify.compose import chat_events, overrides_for
from bot.render.alert import (
    alert_blocks,
    alert_messages,
    event_digest,
    followup_blocks,
    followup_messages,
    pack,
)
from bot.render.charts import flagged, main_chart
from bot.render.summary import build_summary
from bot.render.text import summary_html as release_summary_html
from bot.rules.catalogue import AGGREGATES, Rule
from bot.rules.events import Event
from bot.rules.metrics import Metrics
from bot.rules.release import ReleaseCandidates
from bot.store.outbox import Delivery, Outbox
from bot.store.subscribers import Chat, Subscribers
from bot.watch.outcomes import PublishedRelease

log = logging.getLogger("tic_alert.dispatch")


@dataclass(frozen=True)
class Dispatched:
    """What one hand-over queued."""

    release: str
    chats: int
    alerts: int
    followups: int
    edits: int
    charts: int


class Dispatcher:
    """The poller's hand-over target: composes every chat's messages and queues them."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        rules: Sequence[Rule],
        groups: Sequence[Group],
        channels: Sequence[int] = (),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        wake: Callable[[], None] = lambda: None,
    ):
        self.outbox = Outbox(conn)
        self.subscribers = Subscribers(conn)
        self.rules = tuple(rules)
        self.groups = tuple(groups)
        self.channels = tuple(channels)
        self.clock = clock
        self.wake = wake  # called after the poller commits: the sender starts at once
        self.last: Dispatched | None = None
        self._rows: list[tuple] = []

    def __call__(self, release: PublishedRelease, panel: Panel) -> Callable[[], None] | None:
        """The poller's ``handover(release, panel)``: composes now, outside any transaction, and
        returns the writes, which the poller runs inside the hand-over's short transaction."""
        if release.baseline:
            log.info("release %s is the store's baseline: no alert", release.month)
            return None
        done, write = self.compose(release.month, release.months, panel)

        def commit() -> None:
            write()
            self.last = done
            log.info("hand-over %s: %s", release.month, done)

        return commit

    def dispatch(self, month: str, months: Sequence[str], panel: Panel) -> Dispatched:
        """Compose and queue in one go (the bench; tests without a poller)."""
        done, write = self.compose(month, months, panel)
        write()
        return done

    def compose(
        self, month: str, months: Sequence[str], panel: Panel
    ) -> tuple[Dispatched, Callable[[], None]]:
        """Every chat's deliveries for the release (CPU only, plus reads), and the writes that queue
        them: charts first, then the rows, in the caller's transaction."""
        now = self.clock()
        today = now.date()
        metrics = Metrics(panel)
        candidates = [ReleaseCandidates(panel, self.rules, m, metrics) for m in months]
        summary = build_summary(panel)
        told = _told(self.outbox.of_release(month))
        charts: dict[str, bytes] = {}

        def chart_for(events: Sequence[Event]) -> str:
            e = flagged(events)
            key = f"{month}:{e.key if e else 'no-event'}"
            if key not in charts:
                charts[key] = main_chart(panel, summary, list(events))
            return key

        counts = {"alert": 0, "followup": 0, "edit": 0}
        chats = self.subscribers.active_chats()
        recipients: list[tuple[Chat | int, list[Event]]] = []
        chosen: dict[tuple, list[Event]] = {}  # chats with the same settings share one selection
        for chat in chats:
            own = tuple(sorted((n, tuple(m)) for n, m in chat.groups.items()))
            key = (tuple(sorted(overrides_for(chat, self.rules, today).items())), chat.watches, own)
            if key not in chosen:
                chosen[key] = [
                    e for c in candidates for e in chat_events(c, chat, self.rules, today, self.groups)
                ]
            recipients.append((chat, chosen[key]))
        for channel in self.channels:
            events = [e for c in candidates for e in c.fire() if e.entity in AGGREGATES]
            recipients.append((channel, events))
        summary_html = release_summary_html(summary)
        alerts: dict[tuple, tuple[list[str], str]] = {}  # chats with the same events share one rendering

        def alert_for(events: list[Event], every: bool) -> tuple[list[str], str]:
            key = (tuple(e.key for e in events), every)
            if key not in alerts:
                alerts[key] = (
                    alert_messages(months, events, summary_html if every else None),
                    chart_for(events),
                )
            return alerts[key]

        for recipient, events in recipients:
            chat_id = recipient if isinstance(recipient, int) else recipient.chat_id
            every = isinstance(recipient, int) or recipient.mode == "summary"
            before = told.get(chat_id, [])
            known = {k: d for delivery in before for k, d in delivery.events}
            edition = len(before)
            new = [e for e in events if e.key not in known]
            if not before:
                if not events and not every:
                    continue
                messages, chart = alert_for(events, every)
                self._add(month, chat_id, edition, "alert", messages, now, chart, None, events)
                counts["alert"] += 1
                continue
            if new:
                messages = followup_messages(months, new)
                self._add(month, chat_id, edition, "followup", messages, now, None, None, new)
                counts["followup"] += 1
                edition += 1
            current = {e.key: e for e in events}
            for delivery in before:
                if delivery.kind == "edit":
                    continue
                latest = _latest_digests(before, delivery)
                keys = [k for k, _ in delivery.events]
                if not any(k in current and event_digest(current[k]) != latest[k] for k in keys):
                    continue
                extra = summary_html if every else None
                messages = _recompose(delivery, [current.get(k) for k in keys], months, extra)
                if messages is None or messages == _latest_messages(before, delivery):
                    continue  # a changed event the alert does not show (beyond its stories told)
                shown = [current[k] for k in keys if k in current]
                self._add(month, chat_id, edition, "edit", messages, now, None, delivery.id, shown)
                counts["edit"] += 1
                edition += 1
        rows, self._rows = self._rows, []

        def write() -> None:
            ids = {key: self.outbox.chart(key, png) for key, png in charts.items()}
            self.outbox.add_many([(*r[:5], ids.get(r[5]) if r[5] else None, *r[6:]) for r in rows], now)

        done = Dispatched(
            month, len(recipients), counts["alert"], counts["followup"], counts["edit"], len(charts)
        )
        return done, write

    def _add(
        self,
        month: str,
        chat_id: int,
        edition: int,
        kind: str,
        messages: list[str],
        now: dt.datetime,
        chart: str | None,
        edit_of: int | None,
        events: Sequence[Event],
    ) -> None:
        self._rows.append(
            (
                f"{month}:{chat_id}:{edition}",
                month,
                chat_id,
                kind,
                messages,
                chart,
                edit_of,
                [(e.key, event_digest(e)) for e in events],
            )
        )


def _told(deliveries: Sequence[Delivery]) -> dict[int, list[Delivery]]:
    out: dict[int, list[Delivery]] = {}
    for d in deliveries:
        out.setdefault(d.chat_id, []).append(d)
    return out


def _latest_digests(before: Sequence[Delivery], delivery: Delivery) -> dict[str, str]:
    """The digests a delivery's events show now: its own, or those of the newest edit of it."""
    digests = dict(delivery.events)
    for d in before:
        if d.kind == "edit" and d.edit_of == delivery.id:
            digests.update(dict(d.events))
    return digests


def _latest_messages(before: Sequence[Delivery], delivery: Delivery) -> list[str]:
    """The messages a delivery shows now: its own, or those of the newest edit of it."""
    edits = [d for d in before if d.kind == "edit" and d.edit_of == delivery.id]
    return list((edits[-1] if edits else delivery).messages)


def _recompose(
    delivery: Delivery, events: list[Event | None], months: Sequence[str], extra: str | None
) -> list[str] | None:
    """The delivery's messages with its events' new details, told and packed as the alert was
    (the same stories; the summary of a summary-mode chat or channel stays last).

    None when the edit would not fit the same number of messages (then the reader keeps the
    first version: it said nothing wrong, it only lacked a part that is now known)."""
    if any(e is None for e in events):
        return None
    shown = [e for e in events if e is not None]
    first = delivery.messages[0].split("\n\n", 1)[0]  # the header line stays as it was
    if delivery.kind == "alert":
        limit = 1024 if delivery.chart_id is not None else 4096
        messages = pack(first, alert_blocks(shown, extra), limit)
    else:
        messages = pack(first, followup_blocks(shown), 4096)
    return messages if len(messages) == len(delivery.messages) else None
