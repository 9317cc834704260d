"""Telegram's limits on one message, counted as Telegram counts them: in UTF-16 code units.

A text message holds at most :data:`TEXT_LIMIT` units, a photo's caption :data:`CAPTION_LIMIT`
(python-telegram-bot's ``MessageLimit.MAX_TEXT_LENGTH`` and ``CAPTION_LENGTH``; a test pins
them). A character outside the Basic Multilingual Plane (most emoji) counts two. Telegram counts
the text after parsing the HTML; we count the HTML source, which is never shorter.
"""

from __future__ import annotations

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
MORE = "…"


def telegram_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def cut(text: str, limit: int) -> str:
    """``text`` if it fits, else its longest start that fits with "…" after it (a character is
    never split)."""
    if telegram_length(text) <= limit:
        return text
    return _longest_start(text, limit - telegram_length(MORE)) + MORE


def pieces(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` in messages of at most ``limit`` units, split at line ends (a line longer than a
    message is split inside it); nothing is dropped."""
    out: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        while telegram_length(line) > limit:
            if current is not None:
                out.append(current)
                current = None
            head = _longest_start(line, limit)
            out.append(head)
            line = line[len(head) :]
        candidate = line if current is None else f"{current}\n{line}"
        if telegram_length(candidate) <= limit:
            current = candidate
        else:
            out.append(current or "")
            current = line
    out.append(current or "")
    return out


def _longest_start(line: str, limit: int) -> str:
    """The longest start of ``line`` within ``limit`` units."""
    units = 0
    for i, ch in enumerate(line):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return line[:i]
    return line
