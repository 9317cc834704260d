"""Sending a command's replies: photos uploaded once, long text in pieces, Telegram's refusals handled."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import sqlite3
from collections.abc import Callable

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut

from bot.notify.chatbot import Reply
from bot.render.alert import plain_text
from bot.store.subscribers import Subscribers

log = logging.getLogger("tic_alert.bot")
TEXT_LIMIT = 4096


class ReplySender:
    """Sends replies; a chat that blocked the bot is marked in ``subscribers``."""

    def __init__(self, subscribers: Subscribers, clock: Callable[[], dt.datetime]):
        self.subscribers = subscribers
        self.clock = clock
        self.file_ids: dict[str, str] = {}  # sha256 of a PNG → Telegram's file_id: upload once

    async def send(self, bot: Bot, chat_id: int, reply: Reply) -> None:
        """Send one reply; a network error is retried once, a blocked chat is marked, bad HTML
        falls back to plain text."""
        try:
            await self._send(bot, chat_id, reply)
        except (NetworkError, TimedOut) as err:
            if isinstance(err, BadRequest | Forbidden):
                raise
            log.info("reply to chat %s: %s; trying once more", chat_id, err)
            await asyncio.sleep(0.5)
            try:
                await self._send(bot, chat_id, reply)
            except TelegramError as again:
                log.warning("reply to chat %s failed: %s: %s", chat_id, type(again).__name__, again)

    async def _send(self, bot: Bot, chat_id: int, reply: Reply) -> None:
        try:
            if reply.photo is not None:
                digest = hashlib.sha256(reply.photo).hexdigest()
                photo = self.file_ids.get(digest, reply.photo)
                sent = await bot.send_photo(chat_id, photo, caption=reply.text[:1024] or None)
                if sent.photo and digest not in self.file_ids:
                    self.file_ids[digest] = sent.photo[-1].file_id
                return
            pieces = chunks(reply.text)
            for i, piece in enumerate(pieces):
                await bot.send_message(
                    chat_id,
                    piece,
                    parse_mode=ParseMode.HTML if reply.html else None,
                    reply_markup=markup(reply) if i == len(pieces) - 1 else None,
                )
        except Forbidden:
            log.info("chat %s blocked the bot", chat_id)
            with contextlib.suppress(sqlite3.Error):  # a full disk: the next send finds out again
                self.subscribers.set_blocked(chat_id, True, self.clock())
        except BadRequest as err:
            if reply.html:
                log.warning("HTML refused in chat %s (%s); sending plain text", chat_id, err.message)
                await self._send(bot, chat_id, Reply(plain_text(reply.text)))
            else:
                log.warning("reply refused in chat %s: %s", chat_id, err.message)
        except (NetworkError, TimedOut):
            raise  # send() tries once more
        except TelegramError as err:
            log.warning("reply to chat %s failed: %s: %s", chat_id, type(err).__name__, err)


def markup(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = [[InlineKeyboardButton(label, callback_data=data)] for label, data in reply.buttons]
    return InlineKeyboardMarkup(rows)


def chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at line ends so that every piece fits a Telegram message; nothing is dropped."""
    out: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                out.append(current)
                current = ""
            out.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    if current or not out:
        out.append(current)
    return out
