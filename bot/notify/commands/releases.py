"""/latest, /chart and /next: the newest release as the chat's alert shows it, and the next ones."""

from __future__ import annotations

import datetime as dt

from bot.notify.chatbot import ChatBot, Ctx, Reply, UsageError
from bot.notify.selection import chat_events
from bot.notify.view import MAX_CHART_YEARS
from bot.store.subscribers import ChatMode
from bot.watch.calendar import Calendar, next_slots, release_moment


async def latest(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    """The newest release's alert as this chat got it (or would have), with every story (the
    alert tells the 5 rarest and says how many more this shows): the chart with the caption,
    then text messages within Telegram's limits, rendered by the release-day delivery's functions."""
    chat = bot.chat(ctx)
    view = bot.release()
    events = chat_events(view.release, chat, bot.rules, ctx.now.date(), bot.groups)
    every = chat.mode is ChatMode.SUMMARY
    alert = await bot.heavy(view.alert, events, every, False)
    first, *rest = alert.texts
    return [Reply(first, html=True, photo=alert.png), *(Reply(text, html=True) for text in rest)]


async def chart(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    chat = bot.chat(ctx)
    args = list(ctx.args)
    years = 5
    if args and args[-1].isdigit():
        years = int(args.pop())
        if not 1 <= years <= MAX_CHART_YEARS:
            raise UsageError(f"Years must be 1 to {MAX_CHART_YEARS}.")
    entity = bot.entity(chat, " ".join(args))
    view = bot.release()
    members = chat.groups.get(entity, ())
    png = await bot.heavy(view.entity_chart, entity, years, tuple(members))
    if png is None:
        return [Reply(f"No holdings data for {entity} in the last {years} years.")]
    return [Reply(f"{entity}: holdings of U.S. Treasuries, last {years} years", photo=png)]


async def next_releases(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    return [Reply(next_text(bot.calendar, ctx.now, 3))]


def next_text(calendar: Calendar, now: dt.datetime, count: int) -> str:
    """The next ``count`` releases: day, 4 p.m. ET and UTC, and the data month each brings."""
    lines = []
    for slot in next_slots(calendar, now, count):
        first = release_moment(calendar, slot.days[0])
        utc = first.astimezone(dt.UTC)
        kind = "" if slot.official else " (estimated)"
        data = dt.date.fromisoformat(slot.data_month + "-01").strftime("%B %Y")
        lines.append(f"{first:%a %d %b %Y}, {first:%-I:%M %p} ET = {utc:%H:%M} UTC{kind}: {data} data")
    return "Next release: " + lines[0] if count == 1 else "Next releases:\n" + "\n".join(lines)
