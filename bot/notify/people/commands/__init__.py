"""The commands the bot answers: one table that /help, setMyCommands, README and routing share.

Each row names its handler, ``async def handler(bot, ctx) -> list[Reply]`` (see
:mod:`bot.notify.people.chatbot`); the handlers live by topic beside this file. The row's flags say
which checks the Telegram front end puts in front of the handler (:mod:`bot.notify.people.checks`):
``settings`` — in a group, its administrators only; ``admin`` — the bot's operators only;
``heavy`` — CPU work (a chart, a history) in a worker thread, answered after cheap commands.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot.errors import StoreError
from bot.notify.people.chatbot import ChatBot, Ctx, Reply, UsageError, typed
from bot.notify.people.commands.operators import stats, testalert
from bot.notify.people.commands.releases import chart, latest, next_releases
from bot.notify.people.commands.subscription import mode, myid, start, status, stop
from bot.notify.people.commands.thresholds import backtest, list_rules, mute, reset, set_rule, unmute
from bot.notify.people.commands.watchlist import group, ungroup, unwatch, watch, watching
from bot.notify.people.db_health import not_saved

Handler = Callable[[ChatBot, Ctx], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Command:
    """A bot command: its name, arguments, one-line help, its handler and who may use it."""

    name: str
    args: str
    about: str
    handler: Handler
    settings: bool = False  # changes the chat's settings: in a group, administrators only
    admin: bool = False  # the bot's operators only ([telegram] admins)
    heavy: bool = False  # CPU work (a chart, a backtest): run in a worker thread

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.args}".strip()


async def show_help(bot: ChatBot, ctx: Ctx) -> list[Reply]:
    return [Reply(help_text())]


COMMANDS: tuple[Command, ...] = (
    Command("start", "", "subscribe this chat to release alerts", start, settings=True),
    Command("stop", "", "unsubscribe (your settings are kept)", stop, settings=True),
    Command("help", "", "the commands", show_help),
    Command("status", "", "this chat's subscription and settings, and its chat id", status),
    Command(
        "myid", "", "this chat's id and yours (what an operator lists in admins or TIC_ALERT_ADMINS)", myid
    ),
    Command("rules", "", "every rule with this chat's threshold; switch rules on and off", list_rules),
    Command(
        "set",
        "<rule> <value|off|on|floor $bn>",
        "change a rule's threshold (or its floor: the smallest $bn move that is news),"
        " and see what it would have caught",
        set_rule,
        settings=True,
        heavy=True,
    ),
    Command(
        "reset",
        "[rule]",
        "back to the defaults: threshold, floor, on/off and mute (one rule or all)",
        reset,
        settings=True,
    ),
    Command(
        "mute",
        "<rule|all> [until YYYY-MM-DD]",
        "silence a rule (until a day, or until /unmute)",
        mute,
        settings=True,
    ),
    Command("unmute", "[rule|all]", "end a mute", unmute, settings=True),
    Command(
        "backtest",
        "<rule> [value]",
        "what a rule would have caught since 2000, changing nothing",
        backtest,
        heavy=True,
    ),
    Command(
        "watch",
        "<country, group or asset>",
        "only get events on what you watch (plus the aggregates); an asset (stocks, corporates,"
        " agencies, all securities, treasuries, foreign securities): only its events",
        watch,
        settings=True,
    ),
    Command("unwatch", "<country, group or asset|all>", "stop watching", unwatch, settings=True),
    Command("watching", "", "what this chat watches", watching),
    Command(
        "group",
        "<name> = <country> + <country> [+ …]",
        "your own group, e.g. Benelux = belgium + …",
        group,
        settings=True,
    ),
    Command("ungroup", "<name>", "delete one of your groups", ungroup, settings=True),
    Command(
        "latest",
        "",
        "the newest release's alert as this chat got it (or would have), every story",
        latest,
        heavy=True,
    ),
    Command(
        "chart",
        "<country or group> [asset] [years]",
        "holdings chart, or an asset's monthly net flows (stocks, corporates, agencies, all securities,"
        " foreign securities); default 5 years, up to 26",
        chart,
        heavy=True,
    ),
    Command("next", "", "the next release: date, 4 p.m. ET and UTC", next_releases),
    Command(
        "mode",
        "<alerts|summary>",
        "alerts: only when a rule fires; summary: every release",
        mode,
        settings=True,
    ),
    Command("stats", "", "operators: subscribers, deliveries, poller health", stats, admin=True),
    Command(
        "testalert",
        "",
        "operators: the latest alert, sent to you through the outbox and the sender,"
        " like a release's delivery",
        testalert,
        admin=True,
        heavy=True,
    ),
)
BY_NAME = {c.name: c for c in COMMANDS}
MAX_COMMAND_CHARS = 300


async def answer(bot: ChatBot, command: Command, ctx: Ctx) -> list[Reply]:
    """The replies to ``/name args``; a UsageError becomes its one-line message and the usage.

    The arguments reach the handler NFKC-normalised; control or invisible characters are refused.
    A change the database cannot take (disk full, read-only) is answered as not saved."""
    try:
        ctx = replace(ctx, args=typed(" ".join(ctx.args)).split())
        if command.settings:
            ctx = bot.record(ctx)
        return await command.handler(bot, ctx)
    except UsageError as err:
        return [Reply(f"{err}\nUsage: {command.usage}")]
    except StoreError as err:  # disk full, read-only: the change was not written
        if bot.db.failing is None:
            bot.db.failed(err, f"/{command.name} in chat {ctx.chat_id}")
        return [Reply(not_saved(err))]


def split_command(text: str) -> tuple[str, list[str]]:
    """``"/Set@tic_bot holdings-3m-drop 80"`` → ``("set", ["holdings-3m-drop", "80"])``."""
    words = text.split()
    if not words or not words[0].startswith("/"):
        return "", words
    name = words[0][1:].split("@", 1)[0].lower()
    return name, words[1:]


def help_text() -> str:
    lines = ["tic-alert watches the Treasury's TIC data and alerts you minutes after each release.", ""]
    lines += [f"{c.usage} — {c.about}" for c in COMMANDS if not c.admin]
    lines += ["", "Rules are named by id (see /rules); countries by name: china, uk, japan+china …"]
    lines += ["Assets: stocks, corporates, agencies, all securities, treasuries, foreign securities."]
    return "\n".join(lines)
