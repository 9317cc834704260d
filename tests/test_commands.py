"""The command handlers without Telegram: what a person types is normalised, and invisible or
control characters are refused before anything is stored or echoed."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.config import load_settings
from bot.notify.chatbot import ChatBot, Ctx, UsageError, shown, typed
from bot.notify.commands import BY_NAME, COMMANDS, answer
from bot.rules.catalogue import load_rules
from bot.store.db import connect
from bot.store.subscribers import Subscribers

SETTINGS = load_settings(env={})
NOW = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)


@pytest.fixture
def bot() -> ChatBot:
    rules = load_rules(SETTINGS.groups)
    return ChatBot(Subscribers(connect(":memory:")), rules, SETTINGS.groups, SETTINGS.poller.calendar())


def ask(bot: ChatBot, text: str, chat_id: int = 5) -> str:
    name, *args = text.split(" ")
    ctx = Ctx(chat_id, "private", "", chat_id, [a for a in args if a], NOW)
    (reply,) = asyncio.run(answer(bot, BY_NAME[name.lstrip("/")], ctx))
    return reply.text


@pytest.mark.parametrize(
    "name",
    [
        "\x00",  # only a NUL
        "\x00\x00\x00",
        "ja\u200bpan",  # a zero-width space: looks like "japan"
        "\u202eBenelux",  # right-to-left override: turns the reply around
        "Bene\u2060lux",  # word joiner
        "\u3164",  # Hangul filler: a letter that shows nothing
        "Bene\ufefflux",  # zero-width no-break space
        "Bene\u00adlux",  # soft hyphen
    ],
)
def test_a_group_name_with_control_or_invisible_characters_is_refused(bot: ChatBot, name: str):
    reply = ask(bot, f"/group {name} = belgium + netherlands")
    assert "invisible or control character" in reply
    assert "Usage: /group" in reply
    assert bot.subscribers.get(5) is None or bot.subscribers.get(5).groups == {}


def test_a_name_is_nfkc_normalised_before_it_is_stored_and_echoed(bot: ChatBot):
    reply = ask(bot, "/group Ｂｅｎｅｌｕｘ = ｂｅｌｇｉｕｍ + netherlands")  # full-width letters
    assert reply.startswith("Group Benelux = Belgium + Netherlands.")
    assert bot.subscribers.get(5).groups == {"Benelux": ("Belgium", "Netherlands")}
    assert "Watching Benelux." in ask(bot, "/watch ｂｅｎｅｌｕｘ")


def test_a_name_needs_a_letter_or_a_digit(bot: ChatBot):
    assert "needs a letter or a digit" in ask(bot, "/group -- = belgium + netherlands")


def test_every_command_refuses_invisible_characters_in_its_arguments(bot: ChatBot):
    for command in COMMANDS:
        ctx = Ctx(9, "private", "", 9, ["ja\u200bpan"], NOW)
        (reply, *_) = asyncio.run(answer(bot, command, ctx))
        assert "invisible or control character (U+200B)" in reply.text, command.name


def test_typed_and_shown():
    assert typed("ｊａｐａｎ\u00a0ﬁ") == "japan fi"
    with pytest.raises(UsageError, match=r"U\+202E"):
        typed("abc\u202e")
    assert shown("x\u202ey\u200b\x00", 40) == "x\\u202ey\\u200b\\u0000"
    assert shown("a" * 100, 32) == "a" * 32
