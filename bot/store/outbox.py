"""The outbox: every message decided at a hand-over, until Telegram has it.

Rows are written by the hand-over in the poller's transaction (keyed, so a replay adds nothing)
and drained by the sender: ``pending → sending → sent``, or ``failed`` (with the reason) or
``blocked`` (the chat blocked the bot). A row left ``sending`` by a crash goes back to
``pending`` on start; the messages of a row already sent are recorded one by one
(``sent_ids``, many rows' in one write: :meth:`Outbox.sent_many`), so a resend repeats at most
the message that was in flight.
The hand-over's writers (:meth:`Outbox.add_chart`, :meth:`Outbox.add_many`) never commit: the
caller's transaction decides. The sender's writers commit each change on its own; with
``epoch`` set (a leader on PostgreSQL, :mod:`~bot.store.leader`) they change a row only while that
is the newest epoch, checked in the same statement, and raise :class:`~bot.errors.Fenced` after.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

from bot.store.database import Database
from bot.store.db import iso
from bot.store.deliveries import (
    COLS,
    OPERATOR_RELEASE,
    PHOTO,
    PLAIN,
    RELEASE_KINDS,
    TEST_RELEASE,
    TEXT,
    ChartFile,
    Delivery,
    DeliveryKind,
    DeliveryState,
    NewDelivery,
    Told,
    delivery,
)
from bot.store.leader import FENCE, check_epoch

__all__ = [  # the row types, importable from here as from their own module
    "OPERATOR_RELEASE",
    "PHOTO",
    "PLAIN",
    "RELEASE_KINDS",
    "TEST_RELEASE",
    "TEXT",
    "ChartFile",
    "Delivery",
    "DeliveryKind",
    "DeliveryState",
    "NewDelivery",
    "Outbox",
    "Told",
]


_INSERT = (
    "INSERT INTO deliveries (key, release, chat_id, kind, messages, chart_id, edit_of, events,"
    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def _iso(moment: dt.datetime | None) -> str | None:
    return iso(moment) if moment else None


class Outbox:
    """The deliveries and charts tables."""

    def __init__(self, conn: Database, epoch: int | None = None):
        self.conn, self.epoch = conn, epoch  # epoch: the leadership the sender's writes need
        self.only: str | None = None  # a rehearsal's sender: it claims and recovers this release's rows only

    def _fenced(self, sql: str, args: tuple) -> int:
        """A sender's UPDATE: rows changed; with an epoch, none unless it is still the newest
        (then :class:`Fenced`, when none changed)."""
        if self.epoch is None:
            return self.conn.execute(sql, args).rowcount
        changed = self.conn.execute(sql + FENCE, (*args, self.epoch)).rowcount
        if not changed:
            check_epoch(self.conn, self.epoch)
        return changed

    def _select(self, where: str, args: tuple) -> list[Delivery]:
        texts: dict[str, tuple[str, ...]] = {}  # chats sharing one rendering share its decoded text
        rows = self.conn.execute(f"SELECT {COLS} FROM deliveries AS d {where}", args)
        return [delivery(r, texts) for r in rows]

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

    def told(self, release: str) -> list[Told]:
        """What each row of a release told, oldest first (the database picks the first message and
        counts them; chats told alike share one decoded ``events``)."""
        first, count = self.conn.dialect.json_first("messages"), self.conn.dialect.json_length("messages")
        rows = self.conn.execute(
            f"SELECT id, chat_id, kind, events, edit_of, chart_id, {first}, {count}"
            " FROM deliveries WHERE release = ? ORDER BY id",
            (release,),
        )
        decoded: dict[str, tuple[tuple[str, str], ...]] = {}
        out = []
        for id_, chat, kind, events, edit_of, chart, first, count in rows:
            if events not in decoded:
                decoded[events] = tuple((k, d) for k, d in json.loads(events))
            head = first.split("\n\n", 1)[0]
            out.append(Told(id_, chat, DeliveryKind(kind), decoded[events], edit_of, chart, head, count))
        return out

    def get(self, delivery_id: int) -> Delivery | None:
        rows = self._select("WHERE id = ?", (delivery_id,))
        return rows[0] if rows else None

    def due(self, *, now: dt.datetime, limit: int = 200) -> list[Delivery]:
        """Pending rows whose time has come, oldest first, each the oldest unsent row of its chat
        (a follow-up never overtakes an alert waiting out a 429)."""
        only, args = (" AND release = ?", (self.only,)) if self.only else ("", ())
        return self._select(
            f"WHERE state = 'pending' AND (not_before IS NULL OR not_before <= ?){only}"
            " AND NOT EXISTS (SELECT 1 FROM deliveries AS e WHERE e.chat_id = d.chat_id AND e.id < d.id"
            " AND e.state IN ('pending', 'sending'))"
            " ORDER BY id LIMIT ?",
            (iso(now), *args, limit),
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
        """After a crash, or a takeover from a leader that died: rows left ``sending`` are sent
        again (their sent messages are skipped; the one in flight may be repeated)."""
        only, args = (" AND release = ?", (self.only,)) if self.only else ("", ())
        return self._fenced(f"UPDATE deliveries SET state = 'pending' WHERE state = 'sending'{only}", args)

    def claim(self, delivery_id: int, *, now: dt.datetime) -> bool:
        """The sender takes a due row (:meth:`claim_many` of one). False: do not send it."""
        return delivery_id in self.claim_many([delivery_id], now=now)

    def set_state(
        self,
        delivery_id: int,
        state: DeliveryState,
        *,
        now: dt.datetime,
        detail: str | None = None,
        not_before: dt.datetime | None = None,
        attempt: bool = False,
        claimed: bool = False,
    ) -> None:
        """Move a row to ``state``; ``detail`` None keeps the reason it had; ``attempt`` counts
        one more failed attempt; ``claimed``: only while it is ``sending`` (the sender's: a chat
        blocked meanwhile, its rows with it, stays blocked)."""
        self._fenced(
            "UPDATE deliveries SET state = ?, updated_at = ?, detail = COALESCE(?, detail),"
            " not_before = ?, attempts = attempts + ? WHERE id = ?"
            + (" AND state = 'sending'" if claimed else ""),
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

    def sent_many(
        self, records: Sequence[tuple[int, Sequence[int], Sequence[str], bool]], *, now: dt.datetime
    ) -> None:
        """Rows' messages now with Telegram, in one write: (delivery id, the ids of all its messages
        Telegram has, how each went — :data:`PHOTO`, :data:`TEXT` or :data:`PLAIN`: an edit must
        edit what is there —, whether that is all of them: the row is ``sent``). The sender knows
        them (a row is one courier's at a time), so nothing is read first (on PostgreSQL, a round
        trip). With an epoch, each row only while it is the newest (:class:`Fenced` after)."""
        sql = (
            "UPDATE deliveries SET sent_ids = ?, sent_as = ?, updated_at = ?, state = CASE WHEN ? = 1"
            " THEN 'sent' ELSE state END, detail = CASE WHEN ? = 1 THEN '' ELSE detail END WHERE id = ?"
        )
        rows = [
            (json.dumps(list(ids)), json.dumps(list(how)), iso(now), int(last), int(last), row)
            for row, ids, how, last in records
        ]
        if self.epoch is None:
            self.conn.executemany(sql, rows)
        elif self.conn.executemany(sql + FENCE, [(*r, self.epoch) for r in rows]) < len(rows):
            check_epoch(self.conn, self.epoch)  # a row left unchanged: is another process leading?

    def claim_many(self, ids: Sequence[int], *, now: dt.datetime) -> set[int]:
        """The sender takes a round of due rows: each ``pending → sending`` if it is still pending,
        all in one compare-and-set statement (of two senders, one gets a row; a row blocked or
        moved since it was read stays as it is; a leader fenced off changes no row and raises
        Fenced). The ids taken: only those may be sent."""
        if not ids:
            return set()
        sql = (
            "UPDATE deliveries SET state = 'sending', updated_at = ?"
            f" WHERE id IN ({', '.join('?' * len(ids))}) AND state = 'pending'"
        )
        args = (iso(now), *ids)
        if self.epoch is None:
            return {i for (i,) in self.conn.execute(sql + " RETURNING id", args)}
        # the fence is one subquery of the statement: it holds for every row or for none
        taken = {i for (i,) in self.conn.execute(sql + FENCE + " RETURNING id", (*args, self.epoch))}
        if not taken:
            check_epoch(self.conn, self.epoch)
        return taken

    def block_chat(self, chat_id: int, *, now: dt.datetime, detail: str) -> int:
        """The chat blocked the bot: its unsent rows stop. Returns how many."""
        return self.conn.execute(
            "UPDATE deliveries SET state = 'blocked', detail = ?, updated_at = ?"
            " WHERE chat_id = ? AND state IN ('pending', 'sending')",
            (detail, iso(now), chat_id),
        ).rowcount

    def move_chat(self, chat_id: int, *, to: int) -> int:
        """Telegram migrated a group: all its rows go to the new id (unsent rows are sent there; what
        it was told stays its own, so the next hand-over edits rather than alerts again), and a row
        with messages sent keeps the old id in ``moved_from`` (they stay in the old chat: an edit
        of them goes to the new chat as a new message). Returns how many rows moved."""
        return self.conn.execute(
            "UPDATE deliveries SET chat_id = ?, moved_from = CASE WHEN sent_ids = '[]'"
            " THEN moved_from ELSE COALESCE(moved_from, chat_id) END WHERE chat_id = ?",
            (to, chat_id),
        ).rowcount

    def set_file_id(self, chart_id: int, *, file_id: str) -> None:
        """Telegram's id of an uploaded chart (the first upload's id is kept)."""
        self.conn.execute(
            "UPDATE charts SET file_id = ? WHERE id = ? AND file_id IS NULL", (file_id, chart_id)
        )
