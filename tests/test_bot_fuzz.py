"""Every command handler, on arbitrary text, answers with a reply and never raises."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.config import load_settings
from bot.notify.people.chatbot import ChatBot, Ctx
from bot.notify.people.commands import BY_NAME, COMMANDS, answer, split_command
from bot.notify.people.view import ReleaseView
from bot.rules.catalogue import load_rules
from bot.store.db import connect
from bot.store.subscribers import Subscribers

SETTINGS = load_settings(env={})
RULES = load_rules(SETTINGS.groups)
NOW = dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC)
WORDS = st.sampled_from(
    [
        "holdings-3m-drop",
        "all",
        "off",
        "on",
        "until",
        "2027-01-01",
        "japan",
        "china+japan",
        "=",
        "+",
        "5",
        "-1",
        "nan",
        "1e309",
        "summary",
        "alerts",
        "Benelux",
        "@major",
        "9999-99-99",
        "ü",
        "",
        "0x10",
        "3.5",
    ]
)
ARGS = st.lists(st.one_of(WORDS, st.text(max_size=30)), max_size=6)


@pytest.fixture(scope="module")
def chatbot(real_panel):
    bot = ChatBot(Subscribers(connect(":memory:")), RULES, SETTINGS.groups, SETTINGS.poller.calendar())
    bot.view = ReleaseView(real_panel, RULES)
    return bot


@pytest.mark.slow  # every handler, many arguments, at a chat's pace
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from([c.name for c in COMMANDS]), args=ARGS, chat=st.sampled_from([1, 2, -100]))
def test_every_handler_answers_arbitrary_arguments(chatbot, name, args, chat):
    ctx = Ctx(chat, "private" if chat > 0 else "supergroup", "", 7, [a for a in args if a.split()], NOW)
    replies = asyncio.run(answer(chatbot, BY_NAME[name], ctx))
    assert replies
    assert all(r.text or r.photo for r in replies)
    assert all(len(r.text) <= 4096 * 4 for r in replies)


@given(st.text(max_size=400))
def test_split_command_takes_any_text(text):
    name, args = split_command(text)
    assert isinstance(name, str)
    assert isinstance(args, list)
