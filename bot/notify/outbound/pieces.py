"""A reply as the Telegram messages it takes, and sending one of them.

A :class:`Reply` becomes :class:`Piece` s: a photo with its caption (when the caption is longer
than Telegram's 1,024, the photo goes alone and the caption follows as text), then text of at
most 4,096 each, split at line ends. Both limits, and the count in UTF-16 code units as Telegram
counts (an emoji is two), have one home: :mod:`bot.render.limits`, shared with the deliveries.
The buttons go with the last piece. Nothing is dropped. Sending raises what Telegram answers;
the reply queue decides what follows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode

from bot.notify.people.chatbot import Reply
from bot.render.alert import plain_text
from bot.render.limits import CAPTION_LIMIT, pieces, telegram_length

FILE_IDS = 256  # uploaded photos remembered (then sent by file_id)


@dataclass(frozen=True)
class Piece:
    """One Telegram message of a reply."""

    text: str
    html: bool = False
    photo: bytes | None = None
    buttons: tuple[tuple[str, str], ...] = ()


def split_reply(reply: Reply) -> list[Piece]:
    """The messages a reply takes, in order."""
    if reply.photo is not None and telegram_length(reply.text) <= CAPTION_LIMIT:
        return [Piece(reply.text, reply.html, reply.photo, reply.buttons)]
    out = [Piece("", photo=reply.photo)] if reply.photo is not None else []
    texts = pieces(reply.text)
    for i, text in enumerate(texts):
        out.append(Piece(text, reply.html, buttons=reply.buttons if i == len(texts) - 1 else ()))
    return out


def markup(buttons: tuple[tuple[str, str], ...]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data)] for label, data in buttons]
    )


class PieceSender:
    """Sends pieces through ``bot``; a photo is uploaded once, then sent by its file_id."""

    def __init__(self, bot: Bot):
        self.bot = bot
        self.file_ids: dict[str, str] = {}  # sha256 of a PNG → Telegram's file_id

    async def send(self, chat_id: int, piece: Piece, plain: bool = False) -> None:
        """Send one piece (``plain``: as plain text, without the photo: Telegram refused it)."""
        mode: Any = ParseMode.HTML if piece.html and not plain else None
        text = plain_text(piece.text) if piece.html and plain else piece.text
        if piece.photo is not None and not plain:
            digest = hashlib.sha256(piece.photo).hexdigest()
            photo = self.file_ids.get(digest, piece.photo)
            sent = await self.bot.send_photo(
                chat_id, photo, caption=text or None, parse_mode=mode, reply_markup=markup(piece.buttons)
            )
            if sent.photo and digest not in self.file_ids:
                self.file_ids[digest] = sent.photo[-1].file_id
                while len(self.file_ids) > FILE_IDS:
                    self.file_ids.pop(next(iter(self.file_ids)))
        elif text:
            await self.bot.send_message(chat_id, text, parse_mode=mode, reply_markup=markup(piece.buttons))
