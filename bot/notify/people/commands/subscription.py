"""/start, /stop, /status, /mode and /myid: whether and how a chat gets the releases, and its id."""

from __future__ import annotations

from bot.notify.people.chatbot import ChatBot, Ctx, Reply, UsageError
from bot.notify.people.commands.releases import next_text
from bot.notify.people.replies import status_text
from bot.store.subscribers import MODES


async def start(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    chat = bot.chat(ctx)
    bot.subscribers.set_subscribed(ctx.chat_id, True, ctx.now)
    again = "Welcome back: your settings are as you left them.\n\n" if chat.rules or chat.watches else ""
    on = sum(1 for r in bot.rules if r.enabled)
    return [
        Reply(
            f"{again}Subscribed. Minutes after each TIC release you get one message when one of "
            f"{on} rules fires (record 3-month declines, foreign official net selling, "
            "multi-year lows, changes of rank …), ranked in history, with a chart.\n"
            f"{next_text(bot.calendar, ctx.now, 1)}\n\n"
            "/rules — see and change thresholds\n"
            "/watch japan — only what you follow\n"
            "/mode summary — every release, not only alerts\n"
            "/latest — the newest release now\n"
            "/stop — unsubscribe · /help — all commands"
        )
    ]


async def stop(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    bot.chat(ctx)
    bot.subscribers.set_subscribed(ctx.chat_id, False, ctx.now)
    return [Reply("Unsubscribed: no more alerts. Your settings are kept; /start brings them back.")]


async def status(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    return [Reply(f"{status_text(bot.chat(ctx), bot.rules, ctx.now.date())}\nChat id: {ctx.chat_id}")]


async def myid(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    """The ids an operator puts in [telegram] admins (or TIC_ALERT_ADMINS)."""
    yours = f"\nYour user id: {ctx.user_id}" if ctx.user_id is not None and ctx.user_id != ctx.chat_id else ""
    return [
        Reply(
            f"This chat's id: {ctx.chat_id}{yours}\n"
            "(The bot's operator lists operators' ids in [telegram] admins or TIC_ALERT_ADMINS.)"
        )
    ]


async def mode(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    if len(ctx.args) != 1 or ctx.args[0].lower() not in MODES:
        raise UsageError("Say which mode: alerts or summary.")
    bot.chat(ctx)
    chosen = ctx.args[0].lower()
    bot.subscribers.set_mode(ctx.chat_id, chosen, ctx.now)
    what = "every release's summary" if chosen == "summary" else "a message only when a rule fires"
    return [Reply(f"Mode: {chosen} — you get {what}.")]
