"""/stats and /testalert: for the bot's operators (the table marks them; the front end checks)."""

from __future__ import annotations

from bot.notify.people.chatbot import ChatBot, Ctx, Reply, UsageError
from bot.notify.people.trial import trial_alert
from bot.notify.release.selection import chat_events
from bot.store.subscribers import ChatMode


async def stats(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    counts = bot.subscribers.counts()
    active, stopped, blocked = counts["active"], counts["stopped"], counts["blocked"]
    lines = [f"Chats: {active} active, {stopped} stopped, {blocked} blocked"]
    lines.append(f"Release loaded: {bot.view.month if bot.view else 'none'}")
    if bot.stats:
        lines.append(bot.stats())
    return [Reply("\n".join(lines))]


async def testalert(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    """This chat's alert for the newest release, through the outbox and the sender like any
    delivery (pace, Telegram's answers, the chart's upload): it proves delivery, not a reply."""
    if bot.deliver is None:
        raise UsageError("Test alerts go through the sender: only tic-alert serve and run send them.")
    chat = bot.chat(ctx)
    view = bot.release()
    events = chat_events(view.release, chat, bot.rules, ctx.now.date(), bot.groups)
    every = chat.mode is ChatMode.SUMMARY
    alert = await bot.heavy(view.alert, events, every)  # the view's renderer: once per distinct alert
    bot.deliver(trial_alert(chat_id=ctx.chat_id, alert=alert, now=ctx.now))
    return [Reply(f"Test alert queued for {view.month}: it comes through the outbox and the sender.")]
