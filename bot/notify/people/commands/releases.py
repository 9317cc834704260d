"""/latest, /chart and /next: the newest release as the chat's alert shows it, and the next ones."""

from __future__ import annotations

import datetime as dt

from bot.data.entities import GRAND_TOTAL, TREASURY
from bot.notify.people.assets import WatchAsset, read_target
from bot.notify.people.chatbot import ChatBot, Ctx, Reply, UsageError, entity_names
from bot.notify.people.view import MAX_CHART_YEARS, ReleaseView
from bot.notify.release.selection import chat_events
from bot.render.text import month_name, num
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
    entity, asset = read_target(entity_names(bot.groups, chat), " ".join(args), asset_first=False)
    entity = entity or GRAND_TOTAL  # "/chart stocks": the Grand Total's
    view = bot.release()
    members = tuple(chat.groups.get(entity, ()))
    if asset is not None and asset.key != TREASURY:
        return await flows_chart(bot, view, entity, asset, years, members)
    png = await bot.heavy(view.entity_chart, entity, years, members)
    if png is None:
        return [Reply(f"No holdings data for {entity} in the last {years} years.")]
    return [Reply(f"{entity}: holdings of U.S. Treasuries, last {years} years", photo=png)]


async def flows_chart(
    bot: ChatBot, view: ReleaseView, entity: str, asset: WatchAsset, years: int, members: tuple[str, ...]
) -> list[Reply]:
    """/chart <holder> stocks: the holder's monthly net flows of the asset, its record marked."""
    got = await bot.heavy(view.flow_chart, entity, asset.series, asset.flow, years, members)
    if got is None:
        return [Reply(no_flows(view, entity, asset, years))]
    record = f"{num(got.record_value)}bn in {month_name(got.record)}"
    where = "" if got.record_shown else ", before this chart"
    caption = f"{entity}: {asset.flow}, monthly, last {years} years (record: {record}{where})"
    return [Reply(caption, photo=got.png)]


def no_flows(view: ReleaseView, entity: str, asset: WatchAsset, years: int) -> str:
    """Why there is no flow chart: no figure for the holder at all, or none in those years."""
    panel = view.panel
    if not any(panel.has(entity, s) for s in asset.series):
        return (
            f"No net-flow data for {entity} in {asset.label}: the Treasury's Form S and SLT Table 1"
            f" do not list it. /chart {entity} shows its Treasury holdings."
        )
    newest = max(panel.series(entity, s).index.max() for s in asset.series if panel.has(entity, s))
    return (
        f"No net-flow data for {entity} in {asset.label} in the last {years} years"
        f" (the newest is {month_name(newest)}); ask for more years, up to {MAX_CHART_YEARS}."
    )


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
