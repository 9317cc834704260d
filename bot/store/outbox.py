"""The outbox: every message decided at a hand-over, until Telegram has it.

Rows are written by the hand-over in the poller's transaction (keyed, so a replay adds nothing)
and drained by the sender: ``pending → sending → sent``, or ``failed`` (with the reason) or
``blocked`` (the chat blocked the bot). A row left ``sending`` by a crash goes back to
``pending`` on start; the messages of a row already sent are recorded one by one
(``sent_ids``), so a resend repeats at most the message that was in flight.
The writers here never commit: the caller's transaction decides.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass

from bot.store.db import iso

STATES = ("pending", "sending", "sent", "failed", "blocked")


@dataclass(frozen=True)
class Delivery:
    """One outbox row: what to send to one chat, and how far it got."""

    id: int
    key: str
    release: str
    chat_id: int
    kind: str
    messages: tuple[str, ...]
    chart_id: int | None
    edit_of: int | None
    events: tuple[tuple[str, str], ...]
    state: str
    attempts: int
    sent_ids: tuple[int, ...]
    detail: str


_COLS = (
    "id, key, release, chat_id, kind, messages, chart_id, edit_of, events, state, attempts, sent_ids, detail"
)


def _row(r: tuple) -> Delivery:
    i, key, release, chat, kind, messages, chart, edit_of, events, state, attempts, sent, detail = r
    return Delivery(
        i,
        key,
        release,
        chat,
        kind,
        tuple(json.loads(messages)),
        chart,
        edit_of,
        tuple(tuple(x) for x in json.loads(events)),  # type: ignore[misc]
        state,
        attempts,
        tuple(json.loads(sent)),
        detail,
    )


class Outbox:
    """The deliveries and charts tables on one connection."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    # --- written at a hand-over (inside the caller's transaction) --------------------------------

    def chart(self, key: str, png: bytes) -> int:
        self.conn.execute("INSERT OR IGNORE INTO charts (key, png) VALUES (?, ?)", (key, png))
        return int(self.conn.execute("SELECT id FROM charts WHERE key = ?", (key,)).fetchone()[0])

    def add(
        self,
        key: str,
        release: str,
        chat_id: int,
        kind: str,
        messages: list[str],
        now: dt.datetime,
        chart_id: int | None = None,
        edit_of: int | None = None,
        events: list[tuple[str, str]] | None = None,
    ) -> bool:
        """Queue a delivery once per key; False when that key was queued before."""
        cur = self.conn.execute(
            "INSERT OR IGNORE INTO deliveries (key, release, chat_id, kind, messages, chart_id, edit_of,"
            " events, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                release,
                chat_id,
                kind,
                json.dumps(messages),
                chart_id,
                edit_of,
                json.dumps(events or []),
                iso(now),
                iso(now),
            ),
        )
        return cur.rowcount == 1

    def add_many(self, rows: list[tuple], now: dt.datetime) -> int:
        """Queue many deliveries at once: (key, release, chat_id, kind, messages, chart_id, edit_of,
        events) each; a key queued before is skipped. Returns how many were new."""
        stamp = iso(now)
        texts: dict[int, str] = {}  # chats sharing one rendering share one JSON text

        def dumped(value: object) -> str:
            if id(value) not in texts:
                texts[id(value)] = json.dumps(value)
            return texts[id(value)]

        before = self.conn.total_changes
        self.conn.executemany(
            "INSERT OR IGNORE INTO deliveries (key, release, chat_id, kind, messages, chart_id, edit_of,"
            " events, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (key, release, chat, kind, dumped(messages), chart, edit_of, json.dumps(events), stamp, stamp)
                for key, release, chat, kind, messages, chart, edit_of, events in rows
            ],
        )
        return self.conn.total_changes - before

    def of_release(self, release: str) -> list[Delivery]:
        """Every delivery of a release, oldest first (what each chat has been told)."""
        rows = self.conn.execute(f"SELECT {_COLS} FROM deliveries WHERE release = ? ORDER BY id", (release,))
        return [_row(r) for r in rows]

    # --- the sender ----------------------------------------------------------------------------

    def get(self, delivery_id: int) -> Delivery:
        row = self.conn.execute(f"SELECT {_COLS} FROM deliveries WHERE id = ?", (delivery_id,))
        return _row(row.fetchone())

    def due(self, now: dt.datetime, limit: int = 200) -> list[Delivery]:
        rows = self.conn.execute(
            f"SELECT {_COLS} FROM deliveries AS d WHERE state = 'pending'"
            " AND (not_before IS NULL OR not_before <= ?)"
            # a chat's rows in order: a follow-up never overtakes an alert waiting out a 429
            " AND NOT EXISTS (SELECT 1 FROM deliveries AS e WHERE e.chat_id = d.chat_id AND e.id < d.id"
            " AND e.state IN ('pending', 'sending'))"
            " ORDER BY id LIMIT ?",
            (iso(now), limit),
        )
        return [_row(r) for r in rows]

    def recover(self) -> int:
        """After a crash: rows left ``sending`` are sent again (their sent messages are skipped)."""
        with self.conn:
            cur = self.conn.execute("UPDATE deliveries SET state = 'pending' WHERE state = 'sending'")
        return cur.rowcount

    def set_state(
        self,
        delivery_id: int,
        state: str,
        now: dt.datetime,
        detail: str | None = None,
        not_before: dt.datetime | None = None,
        attempt: bool = False,
    ) -> None:
        with self.conn:
            self.conn.execute(
                "UPDATE deliveries SET state = ?, updated_at = ?, detail = COALESCE(?, detail),"
                " not_before = ?, attempts = attempts + ? WHERE id = ?",
                (state, iso(now), detail, iso(not_before) if not_before else None, int(attempt), delivery_id),
            )

    def sent_one(self, delivery_id: int, message_id: int, now: dt.datetime) -> None:
        """One more message of the row is with Telegram (recorded before the next is sent)."""
        with self.conn:
            row = self.conn.execute("SELECT sent_ids FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            ids = [*json.loads(row[0]), message_id]
            self.conn.execute(
                "UPDATE deliveries SET sent_ids = ?, updated_at = ? WHERE id = ?",
                (json.dumps(ids), iso(now), delivery_id),
            )

    def block_chat(self, chat_id: int, now: dt.datetime, detail: str) -> int:
        """The chat blocked the bot: its unsent rows stop."""
        with self.conn:
            return self.conn.execute(
                "UPDATE deliveries SET state = 'blocked', detail = ?, updated_at = ?"
                " WHERE chat_id = ? AND state IN ('pending', 'sending')",
                (detail, iso(now), chat_id),
            ).rowcount

    def move_chat(self, old_id: int, new_id: int) -> None:
        """Telegram migrated a group: its unsent rows go to the new id."""
        with self.conn:
            self.conn.execute(
                "UPDATE deliveries SET chat_id = ? WHERE chat_id = ? AND state IN ('pending', 'sending')",
                (new_id, old_id),
            )

    def chart_file(self, chart_id: int) -> tuple[bytes, str | None]:
        row = self.conn.execute("SELECT png, file_id FROM charts WHERE id = ?", (chart_id,))
        png, file_id = row.fetchone()
        return bytes(png), file_id

    def set_file_id(self, chart_id: int, file_id: str) -> None:
        with self.conn:
            self.conn.execute(
                "UPDATE charts SET file_id = ? WHERE id = ? AND file_id IS NULL", (file_id, chart_id)
            )

    def counts(self, release: str | None = None) -> dict[str, int]:
        """Deliveries by state (of one release, or all)."""
        where, args = ("WHERE release = ?", (release,)) if release else ("", ())
        rows = self.conn.execute(f"SELECT state, COUNT(*) FROM deliveries {where} GROUP BY state", args)
        found = dict(rows.fetchall())
        return {s: int(found.get(s, 0)) for s in STATES}

    def latest_release(self) -> str | None:
        row = self.conn.execute("SELECT MAX(release) FROM deliveries WHERE kind != 'operator'").fetchone()
        return row[0] if row else None
