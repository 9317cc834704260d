"""The commands about entities: watch, unwatch, watching, group, ungroup (a part of ChatBot)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.data.entities import Group, is_country
from bot.notify.commands import Reply
from bot.notify.service import entity_names
from bot.store.subscribers import Chat, Subscribers

MAX_GROUPS = 10
MAX_WATCHES = 30


class UsageError(Exception):
    """A command's arguments are not what it takes: the message is the one-line reply."""


@dataclass(frozen=True)
class Ctx:
    """Who asked what: the chat, the user, the command's arguments, and when."""

    chat_id: int
    chat_type: str
    title: str
    user_id: int | None
    args: list[str]
    now: dt.datetime


class EntityCommands:
    """Names people type, resolved forgivingly; a chat's watches and own groups."""

    subscribers: Subscribers
    groups: tuple[Group, ...]

    def chat(self, ctx: Ctx) -> Chat:
        self.subscribers.touch(ctx.chat_id, ctx.chat_type, ctx.title, ctx.now)
        chat = self.subscribers.get(ctx.chat_id)
        assert chat is not None
        return chat

    def entity(self, chat: Chat, text: str) -> str:
        if not text:
            raise UsageError("Name a country or group.")
        names = entity_names(self.groups, chat)
        found = names.resolve(text)
        if found is None:
            close = names.suggest(text)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise UsageError(f"No country or group called {text[:40]!r}.{hint}")
        return found

    async def cmd_watch(self, ctx: Ctx) -> list[Reply]:
        chat = self.chat(ctx)
        entity = self.entity(chat, " ".join(ctx.args))
        if len(chat.watches) >= MAX_WATCHES and entity not in chat.watches:
            raise UsageError(f"A chat watches at most {MAX_WATCHES} names; /unwatch one first.")
        new = self.subscribers.watch(ctx.chat_id, entity)
        watching = ", ".join(sorted({*chat.watches, entity}))
        lead = f"Watching {entity}." if new else f"Already watching {entity}."
        return [
            Reply(
                f"{lead} You get events on: {watching}, and on the aggregates (Grand Total, "
                "Foreign Official). /unwatch all to get every event again."
            )
        ]

    async def cmd_unwatch(self, ctx: Ctx) -> list[Reply]:
        chat = self.chat(ctx)
        text = " ".join(ctx.args)
        if text.lower() == "all":
            n = self.subscribers.unwatch(ctx.chat_id)
            return [Reply(f"Stopped watching {n} names: you get every event again.")]
        entity = self.entity(chat, text)
        if not self.subscribers.unwatch(ctx.chat_id, entity):
            return [Reply(f"You were not watching {entity}.")]
        return [Reply(f"Stopped watching {entity}.")]

    async def cmd_watching(self, ctx: Ctx) -> list[Reply]:
        chat = self.chat(ctx)
        if not chat.watches:
            return [Reply("You watch nothing in particular: you get events on every entity the rules cover.")]
        return [Reply("Watching: " + ", ".join(chat.watches))]

    async def cmd_group(self, ctx: Ctx) -> list[Reply]:
        chat = self.chat(ctx)
        text = " ".join(ctx.args)
        if not text:
            if not chat.groups:
                return [
                    Reply(
                        "You have no groups of your own. E.g. /group Benelux = belgium + luxembourg + "
                        "netherlands"
                    )
                ]
            return [Reply("\n".join(f"{n} = {' + '.join(m)}" for n, m in chat.groups.items()))]
        name, eq, rest = text.partition("=")
        name = " ".join(name.split())
        if not eq or not name or not rest.strip():
            raise UsageError("Write the group as a name, =, then countries joined by +.")
        if len(name) > 40:
            raise UsageError("A group's name is at most 40 characters.")
        names = entity_names(self.groups)
        if name in chat.groups:
            pass  # redefining one's own group is fine
        elif names.resolve(name) is not None:
            raise UsageError(f"{name!r} already names {names.resolve(name)}; pick another name.")
        elif len(chat.groups) >= MAX_GROUPS:
            raise UsageError(f"A chat has at most {MAX_GROUPS} groups; /ungroup one first.")
        members: list[str] = []
        for part in rest.split("+"):
            member = self.entity(chat, part.strip())
            if not is_country(member, self.groups) or member in chat.groups:
                raise UsageError(f"{member} is not a single country; a group adds up countries.")
            if member not in members:
                members.append(member)
        if len(members) < 2:
            raise UsageError("A group needs at least two different countries.")
        self.subscribers.set_group(ctx.chat_id, name, tuple(members))
        joined = " + ".join(members)
        return [Reply(f"Group {name} = {joined}. /chart {name} shows it; /watch {name} follows it.")]

    async def cmd_ungroup(self, ctx: Ctx) -> list[Reply]:
        chat = self.chat(ctx)
        name = " ".join(ctx.args)
        match = next((g for g in chat.groups if g.casefold() == name.casefold()), None)
        if match is None:
            raise UsageError(f"You have no group called {name[:40]!r}.")
        self.subscribers.drop_group(ctx.chat_id, match)
        return [Reply(f"Deleted your group {match}.")]
