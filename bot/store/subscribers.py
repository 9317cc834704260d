"""Chats and their settings: subscription, thresholds, mutes, watched entities, own groups, mode.

A chat's settings outlive /stop (a later /start finds them again) and follow the chat when
Telegram migrates a group to a supergroup. Every change is one statement or one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from bot.store.database import Database
from bot.store.db import iso


class ChatMode(StrEnum):
    """What a chat hears of a release; the values are what the ``mode`` column holds."""

    ALERTS = "alerts"  # a message only when a rule fires
    SUMMARY = "summary"  # every release: its alerts, if any, and the release's summary


MODES = tuple(ChatMode)
TITLE_CHARS = 200  # of a chat's title, kept
FOREVER = "9999-12-31"
ASSET_PREFIX = "asset:"  # a watch row of an asset class ("asset:equity"), not of an entity
CHAT_COUNTS = (  # SQL: active, stopped and blocked chats
    "SUM(CASE WHEN subscribed = 1 AND blocked = 0 THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN subscribed = 0 AND blocked = 0 THEN 1 ELSE 0 END),"
    " SUM(CASE WHEN blocked = 1 THEN 1 ELSE 0 END)"
)

# One chat with its settings, one statement: the chat's row, then its rules, watches (by entity)
# and groups (by name), as rows of one shape. (PostgreSQL types a UNION's columns pair by pair
# from the left: the first two SELECTs give every column its type.)
CHAT_ROW, RULE_ROW, WATCH_ROW, GROUP_ROW = range(4)
GET_CHAT = (
    f"SELECT {CHAT_ROW}, type, title, mode, subscribed, blocked, NULL, NULL FROM chats WHERE chat_id = ?"
    f" UNION ALL SELECT {RULE_ROW}, rule, muted_until, NULL, enabled, NULL, threshold, floor"
    " FROM chat_rules WHERE chat_id = ?"
    f" UNION ALL SELECT {WATCH_ROW}, entity, NULL, NULL, NULL, NULL, NULL, NULL"
    " FROM chat_watches WHERE chat_id = ?"
    f" UNION ALL SELECT {GROUP_ROW}, name, members, NULL, NULL, NULL, NULL, NULL"
    " FROM chat_groups WHERE chat_id = ?"
    " ORDER BY 1, 2"
)


@dataclass(frozen=True)
class RuleSetting:
    """A chat's own setting of one rule; None fields mean "as the catalogue says"."""

    threshold: float | None = None
    enabled: bool | None = None
    muted_until: str | None = None  # YYYY-MM-DD inclusive, FOREVER = until /unmute
    floor: float | None = None  # smallest $bn move that is news to this chat


@dataclass(frozen=True)
class Chat:
    """A chat as the bot knows it, with all its settings."""

    chat_id: int
    type: str
    title: str
    subscribed: bool
    blocked: bool
    mode: ChatMode
    rules: dict[str, RuleSetting] = field(default_factory=dict)
    watches: tuple[str, ...] = ()
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Gets alerts: subscribed and not blocked."""
        return self.subscribed and not self.blocked

    @classmethod
    def met(cls, chat_id: int, chat_type: str, title: str) -> Chat:
        """A chat as :meth:`Subscribers.touch` first records it: not subscribed, alerts only, no
        settings of its own."""
        return cls(chat_id, chat_type, title[:TITLE_CHARS], False, False, ChatMode.ALERTS)

    def known_as(self, chat_type: str, title: str) -> bool:
        """Recorded with this type and title (touching it again would change nothing)."""
        return self.type == chat_type and self.title == title[:TITLE_CHARS]

    @property
    def entities(self) -> tuple[str, ...]:
        """The countries and groups it watches (its watch rows less the assets')."""
        return tuple(w for w in self.watches if not w.startswith(ASSET_PREFIX))

    def muted(self, rule: str, today: dt.date) -> bool:
        setting = self.rules.get(rule)
        return bool(setting and setting.muted_until and setting.muted_until >= today.isoformat())


class Subscribers:
    """The chats table and its companions, in a database from :func:`bot.store.db.connect`."""

    def __init__(self, conn: Database):
        self.conn = conn

    # --- the chat itself -------------------------------------------------------------------------

    def touch(self, chat_id: int, chat_type: str, title: str, now: dt.datetime) -> None:
        """Record a chat the bot has met (its type and title kept current)."""
        self.conn.execute(
            "INSERT INTO chats (chat_id, type, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (chat_id) DO UPDATE SET type = excluded.type, title = excluded.title",
            (chat_id, chat_type, title[:TITLE_CHARS], iso(now), iso(now)),
        )

    def get(self, chat_id: int) -> Chat | None:
        """The chat with all its settings, in one statement (on a server: one round trip)."""
        rows = self.conn.execute(GET_CHAT, (chat_id,) * 4).fetchall()
        if not rows or rows[0][0] != CHAT_ROW:
            return None
        rules: dict[str, RuleSetting] = {}
        watches: list[str] = []
        groups: dict[str, tuple[str, ...]] = {}
        for part, name, text, _, flag, _, threshold, floor in rows[1:]:
            if part == RULE_ROW:
                rules[name] = RuleSetting(threshold, None if flag is None else bool(flag), text, floor)
            elif part == WATCH_ROW:
                watches.append(name)
            else:
                groups[name] = tuple(json.loads(text))
        _, ctype, title, mode, subscribed, blocked, _, _ = rows[0]
        return Chat(
            chat_id,
            ctype,
            title,
            bool(subscribed),
            bool(blocked),
            ChatMode(mode),
            rules,
            tuple(watches),
            groups,
        )

    def set_subscribed(self, chat_id: int, subscribed: bool, now: dt.datetime) -> None:
        self._update(chat_id, now, "subscribed = ?, blocked = 0", int(subscribed))

    def set_blocked(self, chat_id: int, blocked: bool, now: dt.datetime) -> None:
        """The bot was blocked/kicked (True) or let back in (False); the subscription is kept."""
        self._update(chat_id, now, "blocked = ?", int(blocked))

    def set_mode(self, chat_id: int, mode: str, now: dt.datetime) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self._update(chat_id, now, "mode = ?", str(mode))

    def migrate(self, old_id: int, new_id: int, now: dt.datetime) -> None:
        """Telegram moved a group to a supergroup: the chat and its settings take the new id (the
        supergroup's own row, if it spoke to the bot first, gives way). Told twice (the service
        message, then a 400), the second time changes nothing."""
        if old_id == new_id:  # nothing to move (deleting the "new" row would delete the chat)
            return
        with self.conn:
            if not self.conn.execute("SELECT 1 FROM chats WHERE chat_id = ?", (old_id,)).fetchone():
                return
            self.conn.execute("DELETE FROM chats WHERE chat_id = ?", (new_id,))
            self.conn.execute(
                "UPDATE chats SET chat_id = ?, type = 'supergroup', updated_at = ? WHERE chat_id = ?",
                (new_id, iso(now), old_id),
            )

    def _update(self, chat_id: int, now: dt.datetime, assignment: str, value: object) -> None:
        self.conn.execute(
            f"UPDATE chats SET {assignment}, updated_at = ? WHERE chat_id = ?", (value, iso(now), chat_id)
        )

    # --- rules -----------------------------------------------------------------------------------

    def set_rule(self, chat_id: int, rule: str, **values: object) -> None:
        """Set some of threshold / enabled / muted_until / floor for one rule (others keep theirs)."""
        self.set_rules(chat_id, (rule,), **values)

    def set_rules(self, chat_id: int, rules: Iterable[str], **values: object) -> None:
        """:meth:`set_rule` for several rules in one transaction (/mute all: every rule or none)."""
        allowed = {"threshold", "enabled", "muted_until", "floor"}
        if not values or set(values) - allowed:
            raise ValueError(f"set_rule takes {sorted(allowed)}")
        cols = ", ".join(values)
        marks = ", ".join("?" * len(values))
        updates = ", ".join(f"{c} = excluded.{c}" for c in values)
        sql = (
            f"INSERT INTO chat_rules (chat_id, rule, {cols}) VALUES (?, ?, {marks})"
            f" ON CONFLICT (chat_id, rule) DO UPDATE SET {updates}"
        )
        rows = [(chat_id, rule, *values.values()) for rule in rules]
        if len(rows) == 1:  # one statement commits on its own (no BEGIN/COMMIT round trips)
            self.conn.execute(sql, rows[0])
        else:
            self.conn.executemany(sql, rows)  # one transaction

    def reset_rules(self, chat_id: int, rule: str | None = None) -> int:
        """Back to the defaults for one rule (or all); returns how many rules changed."""
        if rule is None:
            cur = self.conn.execute("DELETE FROM chat_rules WHERE chat_id = ?", (chat_id,))
        else:
            cur = self.conn.execute("DELETE FROM chat_rules WHERE chat_id = ? AND rule = ?", (chat_id, rule))
        return cur.rowcount

    # --- watches and groups ----------------------------------------------------------------------

    def watch(self, chat_id: int, entity: str) -> bool:
        cur = self.conn.execute(
            "INSERT INTO chat_watches (chat_id, entity) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (chat_id, entity),
        )
        return cur.rowcount == 1

    def unwatch(self, chat_id: int, entity: str | None = None) -> int:
        if entity is None:
            cur = self.conn.execute("DELETE FROM chat_watches WHERE chat_id = ?", (chat_id,))
        else:
            cur = self.conn.execute(
                "DELETE FROM chat_watches WHERE chat_id = ? AND entity = ?", (chat_id, entity)
            )
        return cur.rowcount

    def set_group(self, chat_id: int, name: str, members: tuple[str, ...]) -> None:
        self.conn.execute(
            "INSERT INTO chat_groups (chat_id, name, members) VALUES (?, ?, ?)"
            " ON CONFLICT (chat_id, name) DO UPDATE SET members = excluded.members",
            (chat_id, name, json.dumps(list(members))),
        )

    def drop_group(self, chat_id: int, name: str) -> bool:
        with self.conn:
            cur = self.conn.execute("DELETE FROM chat_groups WHERE chat_id = ? AND name = ?", (chat_id, name))
            self.conn.execute("DELETE FROM chat_watches WHERE chat_id = ? AND entity = ?", (chat_id, name))
        return cur.rowcount == 1

    # --- many chats ------------------------------------------------------------------------------

    def active_chats(self) -> list[Chat]:
        """Every subscribed, reachable chat with its settings (four queries, whatever the count)."""
        rules: dict[int, dict[str, RuleSetting]] = {}
        for cid, rule, threshold, enabled, muted, floor in self.conn.execute(
            "SELECT chat_id, rule, threshold, enabled, muted_until, floor FROM chat_rules"
        ):
            on = None if enabled is None else bool(enabled)
            rules.setdefault(cid, {})[rule] = RuleSetting(threshold, on, muted, floor)
        watches: dict[int, list[str]] = {}
        for cid, entity in self.conn.execute("SELECT chat_id, entity FROM chat_watches ORDER BY entity"):
            watches.setdefault(cid, []).append(entity)
        groups: dict[int, dict[str, tuple[str, ...]]] = {}
        for cid, name, members in self.conn.execute("SELECT chat_id, name, members FROM chat_groups"):
            groups.setdefault(cid, {})[name] = tuple(json.loads(members))
        rows = self.conn.execute(
            "SELECT chat_id, type, title, mode FROM chats"
            " WHERE subscribed = 1 AND blocked = 0 ORDER BY chat_id"
        )
        return [
            Chat(
                cid,
                ctype,
                title,
                True,
                False,
                ChatMode(mode),
                rules.get(cid, {}),
                tuple(watches.get(cid, ())),
                groups.get(cid, {}),
            )
            for cid, ctype, title, mode in rows
        ]

    def counts(self) -> dict[str, int]:
        """active (subscribed, reachable), stopped (met but not subscribed), blocked."""
        row = self.conn.execute(f"SELECT {CHAT_COUNTS} FROM chats").fetchone()
        return {k: int(v or 0) for k, v in zip(("active", "stopped", "blocked"), row)}
