"""``tic-alert rehearse``: a release's alert delivered to a few chats as on a release day, to see the
hand-over before the next release day (urlwatch's ``--test-reporter``).

The alert is each chat's own (its rules, watches and mode when it has them, the defaults when it
never spoke to the bot), rendered like the broadcast's, with a first line saying it is a rehearsal.
Its rows go through the outbox and the real :class:`~bot.notify.outbound.scheduler.Sender` (pace, Telegram's
answers, the chart's upload), so a sent rehearsal proves delivery. They sit under a release of their
own, ``rehearsal:<month>:<stamp>`` (kind ``test``): no release's hand-over reads them as what a chat
was told, so the real release still alerts every subscriber; no chat row is made for them; and the
rehearsal's sender sees only them (:attr:`Outbox.only`), so a running service's rows are left to
it (and a running service may deliver the rehearsal's rows itself: either sender's claim wins).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from telegram import Bot

from bot.data.entities import Group
from bot.data.panel import Panel
from bot.notify.outbound.scheduler import Sender
from bot.notify.outbound.transport import AiohttpRequest
from bot.notify.release.selection import recipients
from bot.notify.settings import TelegramSettings
from bot.render.alert import ReleaseMessages, alert_blocks, header, pack
from bot.rules.catalogue import Rule
from bot.rules.events import stories
from bot.rules.release import ReleaseCandidates
from bot.store.database import Database
from bot.store.outbox import Delivery, DeliveryKind, DeliveryState, NewDelivery, Outbox
from bot.store.subscribers import Chat, Subscribers

MARK = "<b>Rehearsal — not a new release</b>"  # the first line of every rehearsal alert
PREFIX = "rehearsal:"  # the release column of rehearsal rows begins with it
DONE = (DeliveryState.SENT, DeliveryState.FAILED, DeliveryState.BLOCKED)


@dataclass(frozen=True)
class Rehearsal:
    """One rehearsal's rows and charts, rendered, waiting to be queued."""

    release: str  # rehearsal:<month>:<stamp>
    month: str
    charts: dict[str, bytes]  # chart key → PNG
    rows: tuple[tuple[NewDelivery, str], ...]  # each row and its chart's key

    def queue(self, outbox: Outbox, *, now: dt.datetime) -> None:
        with outbox.conn:
            ids = {key: outbox.add_chart(key=key, png=png) for key, png in self.charts.items()}
            for row, chart in self.rows:
                outbox.add(replace(row, chart_id=ids[chart]), now=now)


def compose(
    panel: Panel,
    rules: Sequence[Rule],
    groups: Sequence[Group],
    chats: Sequence[int],
    subscribers: Subscribers,
    *,
    month: str | None = None,
    now: dt.datetime,
) -> Rehearsal:
    """Each chat's alert for ``month`` (default: the panel's newest), marked as a rehearsal."""
    candidates = ReleaseCandidates(panel, rules, month)
    month = str(candidates.month)
    stamp = f"{now:%Y%m%dT%H%M%S}.{now.microsecond:06d}Z"
    release = f"{PREFIX}{month}:{stamp}"
    known = [subscribers.get(c) or Chat.met(c, "private" if c > 0 else "group", "") for c in chats]
    audience = recipients([candidates], known, (), rules, now.date(), groups)
    messages = ReleaseMessages(month, (month,), panel)
    charts: dict[str, bytes] = {}
    rows = []
    for r in audience:
        extra = messages.summary_html if r.every else None
        head = f"{MARK}\n{header((month,), len(stories(r.events)))}"
        texts = tuple(pack(head, alert_blocks(r.events, extra)))
        real = messages.chart(r.events)
        chart = f"{release}:{real}"  # its own key: a rehearsal from other files never stands in
        charts[chart] = messages.charts[real]
        row = NewDelivery(f"{release}:{r.chat_id}", release, r.chat_id, DeliveryKind.TEST, texts)
        rows.append((row, chart))
    return Rehearsal(release, month, charts, tuple(rows))


def own_outbox(conn: Database, release: str) -> Outbox:
    """The rehearsal sender's outbox: it claims and recovers only the rehearsal's rows."""
    outbox = Outbox(conn)
    outbox.only = release
    return outbox


async def deliver(
    token: str, settings: TelegramSettings, outbox: Outbox, release: str, timeout: float
) -> tuple[list[Delivery], str]:
    """Run a sender until every row of ``release`` is sent, failed or blocked, or ``timeout``
    seconds pass; the rows as they ended, and the newest network failure ('' when none)."""
    request = AiohttpRequest(timeout=settings.request_timeout_seconds)
    file_url = settings.api_url.replace("/bot", "/file/bot", 1)
    async with Bot(token, base_url=settings.api_url, base_file_url=file_url, request=request) as bot:
        sender = Sender(bot, outbox, Subscribers(outbox.conn), settings)
        sender.late_after = float("inf")  # no operator rows about a rehearsal's outage
        stop = asyncio.Event()
        task = asyncio.create_task(sender.run(stop))
        deadline = time.monotonic() + timeout
        rows = outbox.of_release(release)
        while any(r.state not in DONE for r in rows) and time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.1)
            rows = outbox.of_release(release)
        stop.set()
        sender.wake()
        await task
        return outbox.of_release(release), sender.engine.last_failure
