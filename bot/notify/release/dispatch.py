"""From hand-over to outbox: plan → render → queue, for every chat, at each hand-over of a release.

The :class:`Dispatcher` is the poller's :class:`~bot.watch.outcomes.Handover`. ``prepare`` runs
outside any transaction and does the CPU work: each chat's events
(:func:`~bot.notify.release.selection.recipients`), what it is still owed given what it was told
(:func:`~bot.notify.release.plan.plan`), and the messages and charts for that
(:class:`~bot.render.alert.ReleaseMessages`, each distinct one rendered once). Its ``commit``
runs inside the poller's transaction (the same database connection) and only writes keyed rows,
so the release's "handed over" mark and its outbox rows commit together and a replayed or
doubled hand-over adds nothing. A baseline release (the store's first) alerts nobody.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace

from bot.data.entities import Group
from bot.data.panel import Panel
from bot.notify.release.plan import Need, Owed, plan
from bot.notify.release.selection import Recipient, recipients
from bot.render.alert import ReleaseMessages
from bot.rules.catalogue import Rule
from bot.rules.metrics import Metrics
from bot.rules.release import ReleaseCandidates
from bot.store.database import Database
from bot.store.outbox import DeliveryKind, NewDelivery, Outbox, Told
from bot.store.subscribers import Subscribers
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


@dataclass(frozen=True)
class Queued:
    """A hand-over's rows and charts, rendered and waiting for the poller's transaction."""

    outbox: Outbox
    now: dt.datetime
    charts: dict[str, bytes]  # chart key → PNG
    rows: tuple[tuple[NewDelivery, str | None], ...]  # each row, and the key of its chart
    done: Dispatched
    # what it built of the panel, for the bot's view to adopt rather than build again (in `run`)
    candidates: tuple[ReleaseCandidates, ...] = ()
    messages: ReleaseMessages | None = None

    def commit(self) -> None:
        """The charts, then the rows (a key queued before adds nothing)."""
        ids = {key: self.outbox.add_chart(key=key, png=png) for key, png in self.charts.items()}
        rows = (replace(row, chart_id=ids[chart]) if chart else row for row, chart in self.rows)
        self.outbox.add_many(rows, now=self.now)
        done = self.done
        log.info(
            "handed over release=%s chats=%d alerts=%d followups=%d edits=%d charts=%d",
            done.release,
            done.chats,
            done.alerts,
            done.followups,
            done.edits,
            done.charts,
            extra=asdict(done),
        )


class Dispatcher:
    """The poller's hand-over target: every chat's messages, queued in the outbox."""

    def __init__(
        self,
        conn: Database,
        *,
        rules: Sequence[Rule],
        groups: Sequence[Group] = (),
        channels: Sequence[int] = (),
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        self.outbox = Outbox(conn)
        self.subscribers = Subscribers(conn)
        self.rules = tuple(rules)
        self.groups = tuple(groups)
        self.channels = tuple(channels)
        self.clock = clock

    def prepare(self, release: PublishedRelease, panel: Panel) -> Queued | None:
        if release.baseline:
            log.info("release %s is the store's baseline: no alert", release.month)
            return None
        return self.compose(release.month, release.months, panel)

    def dispatch(self, month: str, months: Sequence[str], panel: Panel) -> Dispatched:
        """Compose and queue in one go (the bench; tests without a poller)."""
        queued = self.compose(month, months, panel)
        queued.commit()
        return queued.done

    def compose(self, month: str, months: Sequence[str], panel: Panel) -> Queued:
        """Every chat's deliveries for the release: CPU and reads only, no write."""
        now = self.clock()
        metrics = Metrics(panel)
        candidates = [ReleaseCandidates(panel, self.rules, m, metrics) for m in months]
        chats = self.subscribers.active_chats()
        audience = recipients(candidates, chats, self.channels, self.rules, now.date(), self.groups)
        metrics.trim()  # every chat's events are chosen: the rules' frames are not needed again
        told: dict[int, list[Told]] = {}
        for d in self.outbox.told(month):
            told.setdefault(d.chat_id, []).append(d)
        messages = ReleaseMessages(month, months, panel)
        rows: list[tuple[NewDelivery, str | None]] = []
        for recipient in audience:
            before = told.get(recipient.chat_id, [])
            owed = plan(before, recipient.events, every=recipient.every, summary=messages.summary_digest)
            rows += queue(month, recipient, len(before), owed, messages)
        counts = Counter(row.kind for row, _ in rows)
        done = Dispatched(
            month,
            len(audience),
            counts[DeliveryKind.ALERT],
            counts[DeliveryKind.FOLLOWUP],
            counts[DeliveryKind.EDIT],
            len(messages.charts),
        )
        return Queued(self.outbox, now, messages.charts, tuple(rows), done, tuple(candidates), messages)


def queue(
    month: str, recipient: Recipient, edition: int, owed: Sequence[Owed], messages: ReleaseMessages
) -> list[tuple[NewDelivery, str | None]]:
    """The rows for what one chat is owed, rendered, numbered from ``edition`` (its rows so far):
    each row's key is release:chat:edition, so the same hand-over queued twice adds nothing."""
    rows: list[tuple[NewDelivery, str | None]] = []
    for o in owed:
        chart = None
        if o.need is Need.ALERT:
            texts, chart = messages.alert(o.events, recipient.every)
            shows = messages.shows(DeliveryKind.ALERT, o.events, recipient.every)
        elif o.need is Need.FOLLOWUP:
            texts = messages.followup(o.events)
            shows = messages.shows(DeliveryKind.FOLLOWUP, o.events, recipient.every)
        elif o.need is Need.EDIT and o.of is not None:
            edited = messages.edit(o.of, o.events, recipient.every)
            if edited is None:
                continue
            texts, shows = edited, messages.shows(o.of.kind, o.events, recipient.every)
        else:
            continue
        row = NewDelivery(
            key=f"{month}:{recipient.chat_id}:{edition}",
            release=month,
            chat_id=recipient.chat_id,
            kind=DeliveryKind(o.need),  # an alert, follow-up or edit is owed: that row
            messages=texts,
            events=shows,  # what the chat is shown: compared at the next hand-over
            edit_of=o.of.id if o.of else None,
        )
        rows.append((row, chart))
        edition += 1
    return rows
