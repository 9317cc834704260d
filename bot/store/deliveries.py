"""What an outbox row is: its kinds and states, what a hand-over queues (:class:`NewDelivery`), a
row as read back (:class:`Delivery`; :class:`Told`, without its texts, for a hand-over), and its
columns. :mod:`bot.store.outbox` reads and writes them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum

from bot.store.db import from_iso


class DeliveryKind(StrEnum):
    """What a row is; the values are what the ``kind`` column holds."""

    ALERT = "alert"  # a chat's first message of a release (the chart and its caption)
    FOLLOWUP = "followup"  # events that fire only once more files are out
    EDIT = "edit"  # an earlier delivery with its events' new details
    OPERATOR = "operator"  # an operator event, to an operator's chat
    TEST = "test"  # /testalert: a chat's alert for the latest release, sent like any delivery


class DeliveryState(StrEnum):
    """How far a row got; the values are what the ``state`` column holds."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"


OPERATOR_RELEASE = "op"  # the release column of operator rows
TEST_RELEASE = "test"  # and of test alerts (they are not part of what a chat was told)
RELEASE_KINDS = "('alert', 'followup', 'edit')"  # SQL: the rows of a release's broadcast
PHOTO, TEXT, PLAIN = (
    "photo",
    "text",
    "plain",
)  # how a message went: a chart with its caption, HTML text, plain text


@dataclass(frozen=True)
class NewDelivery:
    """What a hand-over (or an operator event) queues for one chat."""

    key: str  # unique: queueing the same key again adds nothing
    release: str
    chat_id: int
    kind: DeliveryKind
    messages: tuple[str, ...]  # Telegram HTML; the first is the chart's caption when there is a chart
    events: tuple[tuple[str, str], ...] = ()  # (event key, digest) of what the row tells
    chart_id: int | None = None
    edit_of: int | None = None

    @classmethod
    def operator(cls, *, key: str, chat_id: int, html_text: str) -> NewDelivery:
        return cls(key, OPERATOR_RELEASE, chat_id, DeliveryKind.OPERATOR, (html_text,))


@dataclass(frozen=True)
class Delivery:
    """One outbox row: what to send to one chat, and how far it got."""

    id: int
    key: str
    release: str
    chat_id: int
    kind: DeliveryKind
    messages: tuple[str, ...]
    chart_id: int | None
    edit_of: int | None
    events: tuple[tuple[str, str], ...]
    state: DeliveryState
    attempts: int
    sent_ids: tuple[int, ...]
    sent_as: tuple[str, ...]  # how each sent message went: PHOTO, TEXT or PLAIN (none recorded before v5)
    moved_from: int | None  # the chat its sent messages are in, when the chat moved since (migrated)
    detail: str
    not_before: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Told:
    """What a row of a release told its chat, as a hand-over needs it (:meth:`Outbox.told`: not
    its texts, which a hand-over at thousands of chats would read and decode for every chat)."""

    id: int
    chat_id: int
    kind: DeliveryKind
    events: tuple[tuple[str, str], ...]
    edit_of: int | None
    chart_id: int | None
    head: str  # the header its first message begins with (an edit keeps it)
    count: int  # how many messages it is (an edit keeps as many)


@dataclass(frozen=True)
class ChartFile:
    """A release's chart: its PNG, and Telegram's file_id once uploaded."""

    png: bytes
    file_id: str | None


COLS = (
    "id, key, release, chat_id, kind, messages, chart_id, edit_of, events, state, attempts, sent_ids,"
    " sent_as, moved_from, detail, not_before, created_at"
)


def delivery(r: tuple, texts: dict[str, tuple[str, ...]] | None = None) -> Delivery:
    """A row of ``SELECT {COLS}`` as a Delivery (``texts``: messages decoded before, by their
    JSON; chats sharing one rendering then share one decoded text)."""
    (rid, key, release, chat_id, kind, messages, chart_id, edit_of, events, state, attempts) = r[:11]
    sent_ids, sent_as, moved_from, detail, not_before, created_at = r[11:]
    decoded = texts.get(messages) if texts is not None else None
    if decoded is None:
        decoded = tuple(json.loads(messages))
        if texts is not None:
            texts[messages] = decoded
    return Delivery(
        id=rid,
        key=key,
        release=release,
        chat_id=chat_id,
        kind=DeliveryKind(kind),
        messages=decoded,
        chart_id=chart_id,
        edit_of=edit_of,
        events=tuple((k, d) for k, d in json.loads(events)),
        state=DeliveryState(state),
        attempts=attempts,
        sent_ids=tuple(json.loads(sent_ids)),
        sent_as=tuple(json.loads(sent_as)),
        moved_from=moved_from,
        detail=detail,
        not_before=from_iso(not_before) if not_before else None,
        created_at=from_iso(created_at),
    )
