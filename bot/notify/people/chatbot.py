"""What every command handler is given and gives back, without Telegram.

A handler (one per row of the table in :mod:`bot.notify.people.commands`) is
``async def handler(bot: ChatBot, ctx: Ctx) -> list[Reply]``: the ChatBot holds what the answers
are computed from (the chats' settings, the rules, the release view); Ctx says who asked what.
A :class:`UsageError` becomes its one-line message and the command's usage. The database calls
run on the event loop's thread, the CPU work (charts, history) in worker threads through
:meth:`ChatBot.heavy`, at most ``heavy_workers`` at once across all chats.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from bot.data.entities import EntityNames, Group, known_countries
from bot.errors import StoreError, StoreUnavailable
from bot.notify.people.db_health import DbHealth
from bot.notify.people.trial import TrialAlert
from bot.notify.people.view import ReleaseView
from bot.rules.catalogue import AGGREGATES, Rule
from bot.store.subscribers import Chat, Subscribers
from bot.watch.calendar import Calendar

# letters and marks that show nothing (str.isprintable() already refuses controls, format
# characters such as U+200B and U+202E, separators other than the space, unassigned code points)
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")
# scripts written together in one name: Japanese (Han and kana), Korean (Han and Hangul), Chinese
# (Han and Bopomofo); any other two scripts in one name are a mix (see mixed_scripts)
TOGETHER = (
    frozenset({"CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA"}),
    frozenset({"CJK", "HANGUL"}),
    frozenset({"CJK", "BOPOMOFO"}),
)
T = TypeVar("T")


class UsageError(Exception):
    """A command's arguments are not what it takes: the message is the one-line reply."""


def visible(char: str) -> bool:
    return char.isprintable() and char not in INVISIBLE


def typed(text: str) -> str:
    """What a person typed, NFKC-normalised (full-width letters, ligatures and odd spaces become
    plain ones); a control or invisible character (a NUL, U+202E that turns text around, a
    zero-width space that makes "ja<U+200B>pan" look like Japan) is refused with a UsageError."""
    text = unicodedata.normalize("NFKC", text)
    bad = next((c for c in text if not visible(c)), None)
    if bad is not None:
        raise UsageError(f"That holds an invisible or control character (U+{ord(bad):04X}); type it plainly.")
    return text


def script(char: str) -> str | None:
    """The script of a letter, as the first word of its Unicode name (LATIN, CYRILLIC, GREEK, CJK,
    ARABIC …); None for what is no letter of a script: digits, spaces, "&", "+", marks, modifiers."""
    if not unicodedata.category(char).startswith("L"):
        return None
    word = unicodedata.name(char, "MODIFIER").split(" ", 1)[0]
    if word == "IDEOGRAPHIC":  # 々, the iteration mark written inside Han names
        return "CJK"
    return None if word == "MODIFIER" else word


def mixed_scripts(text: str) -> dict[str, list[str]]:
    """The letters of ``text`` by script when they come from more than one (Latin "j", "p", "n"
    and Cyrillic "а" in "jаpan", which reads "japan"), most letters first; empty when they come
    from one script, or from scripts one language writes together (:data:`TOGETHER`)."""
    found: dict[str, list[str]] = {}
    for char in text:
        if (name := script(char)) is not None:
            found.setdefault(name, []).append(char)
    if len(found) <= 1 or any(found.keys() <= together for together in TOGETHER):
        return {}
    return dict(sorted(found.items(), key=lambda item: -len(item[1])))


def one_script(name: str) -> str:
    """``name`` if its letters are of one script, else a UsageError that names the odd letters:
    a look-alike (Cyrillic "а" in "jаpan") would make a name read as another one."""
    found = mixed_scripts(name)
    if found:
        scripts = " and ".join("Han" if s == "CJK" else s.title() for s in found)
        odd = [c for letters in list(found.values())[1:] for c in dict.fromkeys(letters)]
        codes = ", ".join(f"{c} U+{ord(c):04X}" for c in odd[:4])
        raise UsageError(
            f"{shown(name)!r} mixes {scripts} letters ({codes}), so it could pass for another name;"
            " type it in one alphabet."
        )
    return name


def shown(text: str, limit: int = 40) -> str:
    """A person's text to echo back: NFKC, at most ``limit`` characters, every control or
    invisible character written as its code (\\u200b), so nothing hides or reorders the reply."""
    text = unicodedata.normalize("NFKC", text)[:limit]
    return "".join(c if visible(c) else f"\\u{ord(c):04x}" for c in text)


@dataclass(frozen=True)
class Ctx:
    """Who asked what: the chat, the user, the command's arguments, and when."""

    chat_id: int
    chat_type: str
    title: str
    user_id: int | None
    args: list[str]
    now: dt.datetime
    chat: Chat | None = None  # the chat's settings, read by ChatBot.record


@dataclass(frozen=True)
class Reply:
    """One message to send back: plain text (or Telegram HTML), optionally a photo and buttons."""

    text: str
    html: bool = False
    photo: bytes | None = None
    buttons: tuple[tuple[str, str], ...] = ()  # (label, callback data), one button a row


class ChatBot:
    """The state every handler shares: chats' settings, rules, groups, calendar, release view."""

    def __init__(
        self,
        subscribers: Subscribers,
        rules: Sequence[Rule],
        groups: Sequence[Group],
        calendar: Calendar,
        heavy_workers: int = 2,
        stats: Callable[[], str] | None = None,
        alert: Callable[[str], None] = lambda text: None,
    ):
        self.subscribers = subscribers
        self.rules = tuple(rules)
        self.by_id = {r.id: r for r in self.rules}
        self.groups = tuple(groups)
        self.calendar = calendar
        self.view: ReleaseView | None = None
        self.stats = stats  # the operators' health lines for /stats
        self.db = DbHealth(alert)  # ``alert`` tells the operators when writes fail and work again
        self.deliver: Callable[[TrialAlert], None] | None = None  # queue a test alert, wake the sender
        self._heavy = asyncio.Semaphore(heavy_workers)

    async def heavy(self, fn: Callable[..., T], *args: object) -> T:
        """CPU work in a worker thread, a bounded number at once."""
        async with self._heavy:
            return await asyncio.to_thread(fn, *args)

    def record(self, ctx: Ctx) -> Ctx:
        """Before a change to the chat's settings: the chat read, and recorded if there is
        something to record (see :meth:`chat`); a database that cannot be written raises here,
        before anything is said to be changed. The Ctx returned carries the chat read."""
        return replace(ctx, chat=self._known(ctx, strict=True))

    def chat(self, ctx: Ctx) -> Chat:
        """The asking chat's settings (one read; none when :meth:`record` read them). The chat is
        recorded when that writes something: a chat not met before, a new type or title, or any
        chat while writes fail (that write finds them working again). When the database cannot
        be written, a chat it does not know has the defaults."""
        return ctx.chat if ctx.chat is not None else self._known(ctx, strict=False)

    def _known(self, ctx: Ctx, strict: bool) -> Chat:
        try:
            found = self.subscribers.get(ctx.chat_id)
        except StoreUnavailable:  # once more: a session the server ended costs one statement
            found = self.subscribers.get(ctx.chat_id)
        if found is not None and found.known_as(ctx.chat_type, ctx.title) and self.db.failing is None:
            return found
        try:
            self.subscribers.touch(ctx.chat_id, ctx.chat_type, ctx.title, ctx.now)
        except StoreError as err:
            self.db.failed(err, f"chat {ctx.chat_id}")
            if strict:
                raise
            return found or Chat.met(ctx.chat_id, ctx.chat_type, ctx.title)  # reads go on
        self.db.ok()
        met = Chat.met(ctx.chat_id, ctx.chat_type, ctx.title)
        return met if found is None else replace(found, type=met.type, title=met.title)

    def release(self) -> ReleaseView:
        """The release the answers come from, or a UsageError while none is loaded."""
        if self.view is None:
            raise UsageError("No release is loaded yet; try again in a minute.")
        return self.view

    def rule(self, name: str) -> Rule:
        """A rule by its id, forgivingly: an unknown id gets the closest ones suggested."""
        rule = self.by_id.get(name.lower())
        if rule is None:
            close = [r.id for r in self.rules if name.lower()[:4] in r.id][:3]
            hint = f" Did you mean {', '.join(close)}?" if close else " /rules lists them."
            raise UsageError(f"No rule called {name[:40]!r}.{hint}")
        return rule

    def entity(self, chat: Chat, text: str) -> str:
        """A country or group by any of its names (the chat's own groups included)."""
        if not text:
            raise UsageError("Name a country or group.")
        one_script(text)
        names = entity_names(self.groups, chat)
        found = names.resolve(text)
        if found is None:
            close = names.suggest(text)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise UsageError(f"No country or group called {text[:40]!r}.{hint}")
        return found


def entity_names(groups: Sequence[Group], chat: Chat | None = None) -> EntityNames:
    """Names a chat may use: its own groups, the configured groups, aggregates, every country."""
    own = list(chat.groups) if chat else []
    return EntityNames([*own, *(g.name for g in groups), *AGGREGATES, *sorted(known_countries())])
