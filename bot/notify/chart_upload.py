"""A release's chart to a chat: uploaded once (the other chats' sends wait for its file_id), then
sent by Telegram's file_id; the courier (:mod:`bot.notify.courier`) sends it as an alert's photo."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Bot, Message

from bot.errors import StoreError
from bot.notify import bare
from bot.store.outbox import Outbox

log = logging.getLogger("tic_alert.sender")


class ChartUpload:
    """Sends charts through ``bot``, keeping each upload's file_id in the outbox."""

    def __init__(self, bot: Bot, outbox: Outbox, paid: bool | None):
        self.bot, self.outbox, self.paid = bot, outbox, paid
        self._locks: dict[int, asyncio.Lock] = {}
        self._file_ids: dict[int, str] = {}  # chart id → Telegram's file_id, once known

    async def send(self, chat_id: int, chart_id: int, caption: str, mode: Any) -> int:
        """The chart with its caption; the message id."""
        file_id = self._file_ids.get(chart_id)  # no read of the database a send at 1,000/s
        if file_id is None:
            async with self._locks.setdefault(chart_id, asyncio.Lock()):
                chart = self.outbox.chart_file(chart_id)  # uploaded by an earlier run, perhaps
                if chart.file_id is None:
                    msg = await self.bot.send_photo(
                        chat_id, chart.png, caption=caption, parse_mode=mode, allow_paid_broadcast=self.paid
                    )
                    self._remember(chart_id, msg)
                    return msg.message_id
                file_id = self._file_ids[chart_id] = chart.file_id
        params = dict(chat_id=chat_id, photo=file_id, caption=caption, parse_mode=mode)
        return await bare.send(self.bot, "sendPhoto", **params, allow_paid_broadcast=self.paid)

    def _remember(self, chart_id: int, msg: Message) -> None:
        """Keep the upload's file_id (if the database refuses, the next chat uploads again)."""
        if not msg.photo:
            return
        self._file_ids[chart_id] = msg.photo[-1].file_id
        try:
            self.outbox.set_file_id(chart_id, file_id=msg.photo[-1].file_id)
        except StoreError as err:
            log.warning("chart %s: its file_id was not kept (%s)", chart_id, err)
