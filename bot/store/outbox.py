"""The outbox: every message decided at a hand-over, until Telegram has it.

Rows are written by the hand-over in the poller's transaction (keyed, so a replay adds nothing)
and drained by the sender: ``pending → sending → sent``, or ``failed`` (with the reason) or
``blocked`` (the chat blocked the bot). A row left ``sending`` by a crash goes back to
``pending`` on start; the messages of a row already sent are recorded one by one
(``sent_ids``, many rows' in one write: :meth:`Outbox.sent_many`), so a resend repeats at most
the message that was in flight.
The hand-over's writers (:meth:`Outbox.add_chart`, :meth:`Outbox.add_many`) never commit: the
caller's transaction decides. The sender's writers commit each change on its own.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.store.database import Database
from bot.store.db import from_iso, iso


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
    detail: str
    not_before: dt.datetime | None
    created_at: dt.datetime


@dataclass(frozen=True)
class ChartFile:
    """A release's chart: its PNG, and Telegram's file_id once uploaded."""

    png: bytes
    file_id: str | None


_COLS = (
    "id, key, release, chat_id, kind, messages, chart_id, edit_of, events, state, attempts, sent_ids,"
    " detail, not_before, created_at"
)
_INSERT = (
    "INSERT INTO deliveries (key, release, chat_id, kind, messages, chart_id, edit_of, events,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def _delivery(r: tuple, texts: dict[str, tuple[str, ...]]) -> Delivery:
    """A row (``texts``: messages decoded before; chats sharing one rendering share one text)."""
    rid, key, release, chat_id, kind, messages, chart_id, edit_of, events, state, attempts, *rest = r
    sent_ids, detail, not_before, created_at = rest
    decoded = texts.get(messages)
    if decoded is None:
        decoded = texts[messages] = tuple(json.loads(messages))
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
        detail=detail,
        not_before=from_iso(not_before) if not_before else None,
        created_at=from_iso(created_at),
    )


def _iso(moment: dt.datetime | None) -> str | None:
    return iso(moment) if moment else None


class Outbox:
    """The deliveries and charts tables."""

    def __init__(self, conn: Database):
        self.conn = conn

    def _select(self, where: str, args: tuple) -> list[Delivery]:
        texts: dict[str, tuple[str, ...]] = {}
        rows = self.conn.execute(f"SELECT {_COLS} FROM deliveries AS d {where}", args)
        return [_delivery(r, texts) for r in rows]

    # --- written at a hand-over (inside the caller's transaction) --------------------------------

    def add_chart(self, *, key: str, png: bytes) -> int:
        """Keep a chart once per key; its id."""
        self.conn.execute("INSERT INTO charts (key, png) VALUES (?, ?) ON CONFLICT DO NOTHING", (key, png))
        return int(self.conn.execute("SELECT id FROM charts WHERE key = ?", (key,)).fetchone()[0])

    def add(self, delivery: NewDelivery, *, now: dt.datetime) -> bool:
        """Queue one delivery; False when its key was queued before."""
        return self.add_many([delivery], now=now) == 1

    def add_many(self, deliveries: Iterable[NewDelivery], *, now: dt.datetime) -> int:
        """Queue deliveries; a key queued before is skipped. Returns how many were new."""
        stamp = iso(now)
        texts: dict[int, str] = {}  # chats sharing one rendering share one JSON text

        def dumped(value: tuple[str, ...]) -> str:
            if id(value) not in texts:
                texts[id(value)] = json.dumps(value)
            return texts[id(value)]

        def values(d: NewDelivery) -> tuple:
            what = (d.key, d.release, d.chat_id, str(d.kind), dumped(d.messages), d.chart_id, d.edit_of)
            return (*what, json.dumps(d.events), stamp, stamp)

        return self.conn.executemany(_INSERT, [values(d) for d in deliveries])

    # --- read ------------------------------------------------------------------------------------

    def of_release(self, release: str) -> list[Delivery]:
        """Every delivery of a release, oldest first (what each chat has been told)."""
        return self._select("WHERE release = ? ORDER BY id", (release,))

    def get(self, delivery_id: int) -> Delivery | None:
        rows = self._select("WHERE id = ?", (delivery_id,))
        return rows[0] if rows else None

    def due(self, *, now: dt.datetime, limit: int = 200) -> list[Delivery]:
        """Pending rows whose time has come, oldest first, each the oldest unsent row of its chat
        (a follow-up never overtakes an alert waiting out a 429)."""
        return self._select(
            "WHERE state = 'pending' AND (not_before IS NULL OR not_before <= ?)"
            " AND NOT EXISTS (SELECT 1 FROM deliveries AS e WHERE e.chat_id = d.chat_id AND e.id < d.id"
            " AND e.state IN ('pending', 'sending'))"
            " ORDER BY id LIMIT ?",
            (iso(now), limit),
        )

    def tally(self, release: str | None = None) -> dict[tuple[str, str], int]:
        """Deliveries by (state, kind) (of one release, or all); only the pairs that occur."""
        where, args = ("WHERE release = ?", (release,)) if release else ("", ())
        rows = self.conn.execute(
            f"SELECT state, kind, COUNT(*) FROM deliveries {where} GROUP BY state, kind", args
        )
        return {(state, kind): int(n) for state, kind, n in rows}

    def counts(self, release: str | None = None) -> dict[str, int]:
        """Deliveries by state (of one release, or all), every state named."""
        found = {s.value: 0 for s in DeliveryState}
        for (state, _), n in self.tally(release).items():
            if state in found:
                found[state] += n
        return found

    def latest_release(self) -> str | None:
        row = self.conn.execute(f"SELECT MAX(release) FROM deliveries WHERE kind IN {RELEASE_KINDS}")
        return row.fetchone()[0]

    def unsent(self) -> int:
        """Rows of releases and test alerts not yet with Telegram (operator rows aside)."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM deliveries WHERE state IN ('pending', 'sending') AND kind != 'operator'"
        ).fetchone()
        return int(row[0])

    def chart_file(self, chart_id: int) -> ChartFile:
        png, file_id = self.conn.execute(
            "SELECT png, file_id FROM charts WHERE id = ?", (chart_id,)
        ).fetchone()
        return ChartFile(bytes(png), file_id)

    # --- the sender (each change committed) ------------------------------------------------------

    def recover(self) -> int:
        """After a crash: rows left ``sending`` are sent again (their sent messages are skipped)."""
        cur = self.conn.execute("UPDATE deliveries SET state = 'pending' WHERE state = 'sending'")
        return cur.rowcount

    def claim(self, delivery_id: int, *, now: dt.datetime) -> bool:
        """The sender takes a due row: ``pending → sending`` if it is still pending, in one
        compare-and-set statement (of two senders, one gets it; a row blocked or moved since it
        was read stays as it is). False: not taken, do not send it."""
        cur = self.conn.execute(
            "UPDATE deliveries SET state = 'sending', updated_at = ? WHERE id = ? AND state = 'pending'",
            (iso(now), delivery_id),
        )
        return cur.rowcount == 1

    def set_state(
        self,
        delivery_id: int,
        state: DeliveryState,
        *,
        now: dt.datetime,
        detail: str | None = None,
        not_before: dt.datetime | None = None,
        attempt: bool = False,
    ) -> None:
        """Move a row to ``state``; ``detail`` None keeps the reason it had; ``attempt`` counts
        one more failed attempt."""
        self.conn.execute(
            "UPDATE deliveries SET state = ?, updated_at = ?, detail = COALESCE(?, detail),"
            " not_before = ?, attempts = attempts + ? WHERE id = ?",
            (str(state), iso(now), detail, _iso(not_before), int(attempt), delivery_id),
        )

    def retry_now(self, *, detail_prefix: str) -> int:
        """Rows waiting to be retried after a failure whose reason starts with ``detail_prefix``
        are due at once (the Bot API answers again). Returns how many."""
        with self.conn:
            return self.conn.execute(
                "UPDATE deliveries SET not_before = NULL WHERE state = 'pending' AND not_before IS NOT NULL"
                " AND substr(detail, 1, ?) = ?",
                (len(detail_prefix), detail_prefix),
            ).rowcount

    def expire(self, *, created_before: dt.datetime, now: dt.datetime, detail: str) -> int:
        """Pending rows queued before ``created_before`` are ``failed``: ``detail``, then the last
        reason they had (their deadline passed). Returns how many."""
        with self.conn:
            return self.conn.execute(
                "UPDATE deliveries SET state = 'failed', updated_at = ?,"
                " detail = CASE detail WHEN '' THEN ? ELSE ? || '; last: ' || detail END"
                " WHERE state = 'pending' AND created_at < ?",
                (iso(now), detail, detail, iso(created_before)),
            ).rowcount

    def sent_many(self, records: Sequence[tuple[int, Sequence[int], bool]], *, now: dt.datetime) -> None:
        """Rows' messages now with Telegram, in one write: (delivery id, the ids of all its messages
        Telegram has, whether that is all of them: the row is ``sent``). The sender knows them (a
        row is one courier's at a time), so nothing is read first (on PostgreSQL, a round trip)."""
        self.conn.executemany(
            "UPDATE deliveries SET sent_ids = ?, updated_at = ?, state = CASE WHEN ? = 1 THEN 'sent'"
            " ELSE state END, detail = CASE WHEN ? = 1 THEN '' ELSE detail END WHERE id = ?",
            [(json.dumps(list(ids)), iso(now), int(last), int(last), row) for row, ids, last in records],
        )

    def claim_many(self, ids: Sequence[int], *, now: dt.datetime) -> set[int]:
        """:meth:`claim` for each of these rows, in one transaction (a round of the sender, one
        write); the ids taken."""
        with self.conn:
            return {i for i in ids if self.claim(i, now=now)}

    def block_chat(self, chat_id: int, *, now: dt.datetime, detail: str) -> int:
        """The chat blocked the bot: its unsent rows stop. Returns how many."""
        return self.conn.execute(
            "UPDATE deliveries SET state = 'blocked', detail = ?, updated_at = ?"
            " WHERE chat_id = ? AND state IN ('pending', 'sending')",
            (detail, iso(now), chat_id),
        ).rowcount

    def move_chat(self, chat_id: int, *, to: int) -> int:
        """Telegram migrated a group: its unsent rows go to the new id. Returns how many."""
        return self.conn.execute(
            "UPDATE deliveries SET chat_id = ? WHERE chat_id = ? AND state IN ('pending', 'sending')",
            (to, chat_id),
        ).rowcount

    def set_file_id(self, chart_id: int, *, file_id: str) -> None:
        """Telegram's id of an uploaded chart (the first upload's id is kept)."""
        self.conn.execute(
            "UPDATE charts SET file_id = ? WHERE id = ? AND file_id IS NULL", (file_id, chart_id)
        )
