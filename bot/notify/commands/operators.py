"""/stats and /testalert: for the bot's operators (the table marks them; the front end checks)."""

from __future__ import annotations

from bot.notify.chatbot import ChatBot, Ctx, Reply
from bot.notify.commands.releases import latest


async def stats(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    counts = bot.subscribers.counts()
    active, stopped, blocked = counts["active"], counts["stopped"], counts["blocked"]
    lines = [f"Chats: {active} active, {stopped} stopped, {blocked} blocked"]
    lines.append(f"Release loaded: {bot.view.month if bot.view else 'none'}")
    if bot.stats:
        lines.append(bot.stats())
    return [Reply("\n".join(lines))]


async def testalert(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    return await latest(bot, ctx)
