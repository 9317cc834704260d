"""What Telegram's answer means for a send: one policy for deliveries and replies.

:func:`classify` turns an error python-telegram-bot raised into a :class:`Verdict`:

* ``RetryAfter`` (429) → **wait** the seconds Telegram asked (every send waits: it is our pace);
* ``Forbidden`` (403) → **blocked**: the chat blocked or removed the bot;
* ``ChatMigrated`` → **migrated** to the new chat id (a group became a supergroup);
* 400 "message is not modified" → **unchanged**: an edit that changes nothing is done;
* 400 "message to edit not found" / "message can't be edited" → **gone**: the message to edit was
  deleted or belongs to a chat as it was before a migration;
* 400 "chat not found", a message or caption too long → **refused** for good;
* any other 400 (HTML Telegram cannot parse, photos not allowed in the chat, a file refused) →
  **plain**: send it again as plain text without a photo (refused for good if that fails too);
* a network error, a timeout, a 5xx, a refused token (it may be put right) → **retry** later;
  an :class:`~bot.notify.outbound.transport.UnknownOutcome` (the request was written, no answer
  came: Telegram may have the message) → retry, marked ``unknown`` (the engine sends such a
  message at most once more).

PTB reads ``retry_after`` as a number of seconds with a deprecation warning until its next major
version makes it a ``timedelta``; importing this module opts in to the ``timedelta``
(``PTB_TIMEDELTA``, PTB's documented switch), so no warning is raised, and both forms are read.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from enum import StrEnum

from telegram.error import BadRequest, ChatMigrated, EndPointNotFound, Forbidden, RetryAfter, TelegramError

from bot.notify.outbound.transport import UnknownOutcome

os.environ.setdefault("PTB_TIMEDELTA", "true")


class Action(StrEnum):
    WAIT = "wait"
    RETRY = "retry"
    BLOCKED = "blocked"
    MIGRATED = "migrated"
    UNCHANGED = "unchanged"
    GONE = "gone"
    PLAIN = "plain"
    REFUSED = "refused"


@dataclass(frozen=True)
class Verdict:
    """What to do after an error: the action, a line for the log and the outbox, and for a 429
    the seconds to wait, for a migration the chat's new id."""

    action: Action
    detail: str
    seconds: float = 0.0
    chat_id: int | None = None
    unknown: bool = False  # written, unanswered: the message may have reached the chat


NETWORK = "network:"  # how a retry's detail begins (the outbox keeps it)
GONE = ("message to edit not found", "message can't be edited")
FINAL = ("chat not found", "too long", "too_long")


def classify(error: TelegramError) -> Verdict:
    """The verdict on one error of a Bot API call."""
    if isinstance(error, RetryAfter):
        seconds = retry_seconds(error)
        return Verdict(Action.WAIT, f"429: retry after {seconds:g} s", seconds=seconds)
    if isinstance(error, ChatMigrated):
        return Verdict(Action.MIGRATED, f"moved to {error.new_chat_id}", chat_id=error.new_chat_id)
    if isinstance(error, Forbidden):
        return Verdict(Action.BLOCKED, f"403: {error.message}")
    if isinstance(error, BadRequest):  # before NetworkError: BadRequest is one of PTB's NetworkErrors
        text = error.message.lower()
        detail = f"400: {error.message}"
        if "not modified" in text:
            return Verdict(Action.UNCHANGED, detail)
        if any(phrase in text for phrase in GONE):
            return Verdict(Action.GONE, detail)
        if any(phrase in text for phrase in FINAL):
            return Verdict(Action.REFUSED, detail)
        return Verdict(Action.PLAIN, detail)
    if isinstance(error, EndPointNotFound):
        return Verdict(Action.REFUSED, f"404: {error.message}")
    if isinstance(error, UnknownOutcome):
        return Verdict(Action.RETRY, f"{NETWORK} unknown outcome: {message_of(error)}", unknown=True)
    return Verdict(Action.RETRY, f"{NETWORK} {message_of(error)}")


def message_of(error: TelegramError) -> str:
    """PTB's message, with an answer that is not JSON (a proxy's HTML 502 page, quoted whole by
    PTB as "Parsing the server response b'<html>…' failed") named by its title instead."""
    text = error.message
    quoted = re.search(r"Parsing the server response (.*) failed$", text, flags=re.S)
    if quoted is None:
        return text
    return f"{text[: quoted.start()].rstrip('. ')}: a page, not JSON ({page_gist(quoted.group(1))!r})"


def page_gist(body: str) -> str:
    """A page the Bot API (or a proxy) answered, in a few words: its title, or how it begins."""
    title = re.search(r"<title>(.*?)</title>", body, flags=re.S | re.I)
    return " ".join((title.group(1) if title else body).split())[:80]


def retry_seconds(error: RetryAfter) -> float:
    """The seconds a 429 asks to wait, whether PTB gives them as a timedelta or a number."""
    after = error.retry_after
    return after.total_seconds() if isinstance(after, dt.timedelta) else float(after)
