"""A reply as the Telegram messages it takes, and the call that sends each.

A :class:`Reply` becomes :class:`Piece` s: a photo with its caption (when the caption is longer
than Telegram's 1,024, the photo goes alone and the caption follows as text), then text of at
most 4,096 each, split at line ends. Both limits, and the count in UTF-16 code units as Telegram
counts (an emoji is two), have one home: :mod:`bot.render.limits`, shared with the deliveries.
The buttons go with the last piece. Nothing is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode

from bot.notify.outbound.engine import Call
from bot.notify.people.chatbot import Reply
from bot.render.alert import plain_text
from bot.render.limits import CAPTION_LIMIT, pieces, telegram_length


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


def piece_call(chat_id: int, piece: Piece, plain: bool = False) -> Call | None:
    """The call that sends one piece (``plain``: as plain text, without the photo: Telegram
    refused it; None when that leaves no text); a photo goes through the engine's file_id cache."""
    mode = ParseMode.HTML if piece.html and not plain else None
    text = plain_text(piece.text) if piece.html and plain else piece.text
    keys = markup(piece.buttons)
    if piece.photo is not None and not plain:
        params = dict(chat_id=chat_id, caption=text or None, parse_mode=mode, reply_markup=keys)
        return Call("sendPhoto", params, photo=piece.photo)
    if not text:
        return None
    return Call("sendMessage", dict(chat_id=chat_id, text=text, parse_mode=mode, reply_markup=keys))
