"""/watch, /unwatch, /watching, /group and /ungroup: what a chat follows, and its own groups."""

from __future__ import annotations

from bot.data.entities import is_country
from bot.notify.chatbot import ChatBot, Ctx, Reply, UsageError, entity_names

MAX_GROUPS = 10
MAX_WATCHES = 30
MAX_GROUP_NAME = 40


async def watch(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    chat = bot.chat(ctx)
    entity = bot.entity(chat, " ".join(ctx.args))
    if len(chat.watches) >= MAX_WATCHES and entity not in chat.watches:
        raise UsageError(f"A chat watches at most {MAX_WATCHES} names; /unwatch one first.")
    new = bot.subscribers.watch(ctx.chat_id, entity)
    watching = ", ".join(sorted({*chat.watches, entity}))
    lead = f"Watching {entity}." if new else f"Already watching {entity}."
    return [
        Reply(
            f"{lead} You get events on: {watching}, and on the aggregates (Grand Total, "
            "Foreign Official). /unwatch all to get every event again."
        )
    ]


async def unwatch(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    chat = bot.chat(ctx)
    text = " ".join(ctx.args)
    if text.lower() == "all":
        n = bot.subscribers.unwatch(ctx.chat_id)
        return [Reply(f"Stopped watching {n} names: you get every event again.")]
    entity = bot.entity(chat, text)
    if not bot.subscribers.unwatch(ctx.chat_id, entity):
        return [Reply(f"You were not watching {entity}.")]
    return [Reply(f"Stopped watching {entity}.")]


async def watching(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    chat = bot.chat(ctx)
    if not chat.watches:
        return [Reply("You watch nothing in particular: you get events on every entity the rules cover.")]
    return [Reply("Watching: " + ", ".join(chat.watches))]


async def group(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    chat = bot.chat(ctx)
    text = " ".join(ctx.args)
    if not text:
        if not chat.groups:
            example = "/group Benelux = belgium + luxembourg + netherlands"
            return [Reply(f"You have no groups of your own. E.g. {example}")]
        return [Reply("\n".join(f"{n} = {' + '.join(m)}" for n, m in chat.groups.items()))]
    name, eq, rest = text.partition("=")
    name = " ".join(name.split())
    if not eq or not name or not rest.strip():
        raise UsageError("Write the group as a name, =, then countries joined by +.")
    if not any(c.isalnum() for c in name):
        raise UsageError("A group's name needs a letter or a digit.")
    if len(name) > MAX_GROUP_NAME:
        raise UsageError(f"A group's name is at most {MAX_GROUP_NAME} characters.")
    names = entity_names(bot.groups)
    if name in chat.groups:
        pass  # redefining one's own group is fine
    elif names.resolve(name) is not None:
        raise UsageError(f"{name!r} already names {names.resolve(name)}; pick another name.")
    elif len(chat.groups) >= MAX_GROUPS:
        raise UsageError(f"A chat has at most {MAX_GROUPS} groups; /ungroup one first.")
    members: list[str] = []
    for part in rest.split("+"):
        member = bot.entity(chat, part.strip())
        if not is_country(member, bot.groups) or member in chat.groups:
            raise UsageError(f"{member} is not a single country; a group adds up countries.")
        if member not in members:
            members.append(member)
    if len(members) < 2:
        raise UsageError("A group needs at least two different countries.")
    bot.subscribers.set_group(ctx.chat_id, name, tuple(members))
    joined = " + ".join(members)
    return [Reply(f"Group {name} = {joined}. /chart {name} shows it; /watch {name} follows it.")]


async def ungroup(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    chat = bot.chat(ctx)
    name = " ".join(ctx.args)
    match = next((g for g in chat.groups if g.casefold() == name.casefold()), None)
    if match is None:
        raise UsageError(f"You have no group called {name[:40]!r}.")
    bot.subscribers.drop_group(ctx.chat_id, match)
    return [Reply(f"Deleted your group {match}.")]
