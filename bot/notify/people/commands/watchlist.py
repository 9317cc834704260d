"""/watch, /unwatch, /watching, /group and /ungroup: what a chat follows, and its own groups."""

from __future__ import annotations

from bot.data.entities import TREASURY, is_country
from bot.notify.people.assets import asset_named, joined, read_target, shown_watch, watched_assets
from bot.notify.people.chatbot import ChatBot, Ctx, Reply, UsageError, entity_names, one_script
from bot.store.subscribers import ASSET_PREFIX, Chat

MAX_GROUPS = 10
MAX_WATCHES = 30
MAX_GROUP_NAME = 40


async def watch(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    chat = bot.chat(ctx)
    rows = _rows(bot, chat, " ".join(ctx.args), asset_first=True)
    if len({*chat.watches, *rows}) > MAX_WATCHES:
        raise UsageError(f"A chat watches at most {MAX_WATCHES} names; /unwatch one first.")
    new = [row for row in rows if bot.subscribers.watch(ctx.chat_id, row)]
    what = " and ".join(shown_watch(r) for r in rows)
    lead = f"Watching {what}." if new else f"Already watching {what}."
    return [Reply(f"{lead} {scope((*chat.watches, *new))}")]


async def unwatch(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    chat = bot.chat(ctx)
    text = " ".join(ctx.args)
    if text.lower() == "all":
        n = bot.subscribers.unwatch(ctx.chat_id)
        return [Reply(f"Stopped watching {n} names: you get every event again.")]
    rows = _rows(bot, chat, text, asset_first=True)
    gone = [row for row in rows if bot.subscribers.unwatch(ctx.chat_id, row)]
    if not gone:
        return [Reply(f"You were not watching {' and '.join(shown_watch(r) for r in rows)}.")]
    left = tuple(w for w in chat.watches if w not in gone)
    return [Reply(f"Stopped watching {' and '.join(shown_watch(r) for r in gone)}. {scope(left)}")]


async def watching(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    chat = bot.chat(ctx)
    if not chat.watches:
        return [Reply("You watch nothing in particular: you get events on every entity the rules cover.")]
    listed = ", ".join(shown_watch(w) for w in chat.watches)
    return [Reply(f"Watching: {listed}.\n{scope(chat.watches)}")]


def _rows(bot: ChatBot, chat: Chat, text: str, asset_first: bool) -> list[str]:
    """The watch rows ``text`` names: an entity's name, an asset's row, or both."""
    entity, asset = read_target(entity_names(bot.groups, chat), text, asset_first)
    return [r for r in (entity, asset.row if asset else None) if r is not None]


def scope(watches: tuple[str, ...]) -> str:
    """What a chat with these watch rows gets, in a sentence or three."""
    entities = sorted(w for w in watches if not w.startswith(ASSET_PREFIX))
    assets = watched_assets(watches)
    who = "on every country and group"
    if entities:
        who = f"on: {', '.join(entities)}, and on the aggregates (Grand Total, Foreign Official)"
    if not assets:
        return f"You get events {who}. /unwatch all to get every event again."
    labels = joined([a.label for a in assets])
    text = f"You get events {who}, and only of {labels}."
    if not any(a.key == TREASURY for a in assets):
        text += " No Treasury holdings or flows any more: /watch treasuries to keep them too."
    return text + " /unwatch all to get every event again."


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
    one_script(name)
    if name.casefold().startswith(ASSET_PREFIX) or asset_named(name) is not None:
        raise UsageError(f"{name!r} names an asset (/watch stocks …); pick another name.")
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
    if match is None:  # a group of one's own goes however it is written (one made before the check)
        raise UsageError(f"You have no group called {one_script(name)[:40]!r}.")
    bot.subscribers.drop_group(ctx.chat_id, match)
    return [Reply(f"Deleted your group {match}.")]
