"""Telegram's file_id of every photo the bot uploaded, keyed by the PNG's sha256: a chart sent to a
thousand chats, or asked for again by /chart, is uploaded once and sent by its file_id after."""

from __future__ import annotations

from bot.store.database import Database


class PhotoIds:
    """The ``photo_ids`` table."""

    def __init__(self, conn: Database):
        self.conn = conn

    def get(self, digest: str) -> str | None:
        row = self.conn.execute("SELECT file_id FROM photo_ids WHERE digest = ?", (digest,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, digest: str, file_id: str) -> None:
        """Keep the first upload's file_id (a second upload of the same PNG changes nothing)."""
        self.conn.execute(
            "INSERT INTO photo_ids (digest, file_id) VALUES (?, ?) ON CONFLICT DO NOTHING", (digest, file_id)
        )
