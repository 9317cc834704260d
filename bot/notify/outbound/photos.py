"""One file_id cache for every photo the bot sends, alerts' charts and replies' alike.

A photo is known by its PNG's sha256. The first send of it uploads the bytes (the other sends of
the same photo wait for that upload rather than upload it again); Telegram's file_id from the
answer is kept in memory and in the database (:class:`~bot.store.photos.PhotoIds`), so every
later send, after a restart too, goes by file_id. A database that refuses the write costs one
more upload later, never a send.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Mapping

from telegram import Bot, InputFile

from bot.errors import StoreError
from bot.store.photos import PhotoIds

log = logging.getLogger("tic_alert.sender")
REMEMBERED = 1024  # file_ids kept in memory (the rest are a read away)


class Photos:
    """Sends a call with a photo: by file_id when the PNG was uploaded before, else uploading it."""

    def __init__(self, store: PhotoIds | None):
        self.store = store
        self._ids: OrderedDict[str, str] = OrderedDict()
        self._uploads: dict[str, asyncio.Lock] = {}
        self.uploaded = 0

    def known(self, digest: str) -> str | None:
        file_id = self._ids.get(digest)
        if file_id is None and self.store is not None:
            try:
                file_id = self.store.get(digest)
            except StoreError:
                return None
            if file_id is not None:
                self._keep(digest, file_id)
        return file_id

    async def send(
        self, bot: Bot, method: str, params: Mapping[str, object], png: bytes, digest: str | None = None
    ) -> Mapping[str, object]:
        """``method`` (sendPhoto) with ``params`` and the photo (``digest``: its sha256, when the
        caller knows it); Telegram's answer."""
        digest = digest or hashlib.sha256(png).hexdigest()
        file_id = self.known(digest)
        if file_id is None:
            lock = self._uploads.setdefault(digest, asyncio.Lock())
            async with lock:  # one upload; the other sends of it wait for its file_id
                file_id = self.known(digest)
                if file_id is None:
                    answer = await bot._post(method, {**params, "photo": InputFile(png)})
                    self._learn(digest, answer)
                    self._uploads.pop(digest, None)
                    return answer
        answer = await bot._post(method, {**params, "photo": file_id})
        return answer

    def _learn(self, digest: str, answer: object) -> None:
        sizes = answer.get("photo") if isinstance(answer, Mapping) else None
        if not isinstance(sizes, list) or not sizes:
            return
        file_id = str(sizes[-1]["file_id"])
        self.uploaded += 1
        self._keep(digest, file_id)
        if self.store is None:
            return
        try:
            self.store.put(digest, file_id)
        except StoreError as err:
            log.warning("photo %s…: its file_id was not kept (%s)", digest[:12], err)

    def _keep(self, digest: str, file_id: str) -> None:
        self._ids[digest] = file_id
        self._ids.move_to_end(digest)
        while len(self._ids) > REMEMBERED:
            self._ids.popitem(last=False)
