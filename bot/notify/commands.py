"""The commands the bot answers: one table that /help, setMyCommands, README and the handlers share."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    """A bot command: its name, arguments, one-line help and who may use it."""

    name: str
    args: str
    about: str
    settings: bool = False  # changes the chat's settings: in a group, administrators only
    admin: bool = False  # the bot's operators only ([telegram] admins)
    heavy: bool = False  # CPU work (a chart, a backtest): run in a worker thread

    @property
    def usage(self) -> str:
        return f"/{self.name} {self.args}".strip()


COMMANDS: tuple[Command, ...] = (
    Command("start", "", "subscribe this chat to release alerts", settings=True),
    Command("stop", "", "unsubscribe (your settings are kept)", settings=True),
    Command("help", "", "the commands"),
    Command("status", "", "this chat's subscription and settings"),
    Command("rules", "", "every rule with this chat's threshold; switch rules on and off"),
    Command(
        "set",
        "<rule> <value|off|on>",
        "change a rule's threshold, and see what it would have caught",
        settings=True,
        heavy=True,
    ),
    Command("reset", "[rule]", "back to the default threshold (one rule or all)", settings=True),
    Command(
        "mute",
        "<rule|all> [until YYYY-MM-DD]",
        "silence a rule (until a day, or until /unmute)",
        settings=True,
    ),
    Command("unmute", "[rule|all]", "end a mute", settings=True),
    Command(
        "backtest", "<rule> [value]", "what a rule would have caught since 2000, changing nothing", heavy=True
    ),
    Command(
        "watch",
        "<country or group>",
        "only get events on what you watch (plus the aggregates)",
        settings=True,
    ),
    Command("unwatch", "<country or group|all>", "stop watching", settings=True),
    Command("watching", "", "what this chat watches"),
    Command(
        "group",
        "<name> = <country> + <country> [+ …]",
        "your own group, e.g. Benelux = belgium + …",
        settings=True,
    ),
    Command("ungroup", "<name>", "delete one of your groups", settings=True),
    Command("latest", "", "the newest release's message and chart, as your alert shows it", heavy=True),
    Command("chart", "<country or group> [years]", "holdings chart (default 5 years, up to 26)", heavy=True),
    Command("next", "", "the next release: date, 4 p.m. ET and UTC"),
    Command(
        "mode", "<alerts|summary>", "alerts: only when a rule fires; summary: every release", settings=True
    ),
    Command("stats", "", "operators: subscribers, deliveries, poller health", admin=True),
    Command("testalert", "", "operators: the latest alert, sent to you", admin=True, heavy=True),
)
BY_NAME = {c.name: c for c in COMMANDS}
MAX_COMMAND_CHARS = 300


@dataclass(frozen=True)
class Reply:
    """One message to send back: plain text (or Telegram HTML), optionally a photo and buttons."""

    text: str
    html: bool = False
    photo: bytes | None = None
    buttons: tuple[tuple[str, str], ...] = ()  # (label, callback data), one button a row


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
    return "\n".join(lines)
