"""/testalert's delivery: a chat's alert for the latest release, sent through the outbox and the
sender like any delivery (pace, Telegram's answers, the chart's upload), so it proves delivery.

It is a row of kind ``test`` under the release ``test``: it is not part of what the chat was told
of the release (the broadcast still alerts it), and every /testalert queues one more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from bot.notify.people.view import Rendered
from bot.store.db import iso
from bot.store.outbox import TEST_RELEASE, DeliveryKind, NewDelivery, Outbox


@dataclass(frozen=True)
class TrialAlert:
    """A test alert, rendered (CPU: run it in a worker thread), waiting to be queued."""

    row: NewDelivery
    chart_key: str
    png: bytes

    def queue(self, outbox: Outbox, *, now: dt.datetime) -> NewDelivery:
        """Queue it (on the thread that owns the connection); wake the sender after."""
        with outbox.conn:
            chart_id = outbox.add_chart(key=self.chart_key, png=self.png)  # the release's own chart
            row = replace(self.row, chart_id=chart_id)
            outbox.add(row, now=now)
        return row


def trial_alert(*, chat_id: int, alert: Rendered, now: dt.datetime) -> TrialAlert:
    """``alert`` (the alert ``chat_id`` would get for the release the bot serves:
    :meth:`~bot.notify.people.view.ReleaseView.alert`, rendered once per distinct alert) as a test row."""
    row = NewDelivery(
        key=f"test:{chat_id}:{iso(now)}",
        release=TEST_RELEASE,
        chat_id=chat_id,
        kind=DeliveryKind.TEST,
        messages=alert.texts,
    )
    return TrialAlert(row, alert.chart_key, alert.png)
