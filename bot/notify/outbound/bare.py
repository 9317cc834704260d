"""Broadcast sends that keep only Telegram's message id: no ``telegram.Message`` is built.

For each answer python-telegram-bot builds a whole Message (its chat, its sender, its entities
or photo sizes: a tree of TelegramObjects), a tenth of the sender's time at a paid broadcast's
1,000 messages a second; the sender keeps only its id. :func:`send` posts the way
``Bot.send_message`` and ``Bot.send_photo`` post (``Bot._post``: the bot's defaults, the rate
limiter, the request, and the same errors raised from Telegram's answer — a 429, a 403, a
migrated group, a 5xx, a timeout — so :func:`~bot.notify.outbound.verdicts.classify` reads them
alike) and reads the id from the answer's JSON. ``_post`` is python-telegram-bot's own (stable
across its versions 20–22; the tests reach the real client, so a change there fails them).
"""

from __future__ import annotations

from typing import Any

from telegram import Bot


async def send(bot: Bot, endpoint: str, **params: Any) -> int:
    """``endpoint`` (sendMessage, sendPhoto by file_id) with ``params`` (None: left out); the
    message id of Telegram's answer."""
    answer = await bot._post(endpoint, params)
    return int(answer["message_id"])
