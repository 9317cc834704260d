"""The command handlers without Telegram: what a person types is normalised, and invisible or
control characters are refused before anything is stored or echoed."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from test_store_subscribers import Counted

from bot.config import load_settings
from bot.data.entities import known_countries
from bot.notify.people.chatbot import ChatBot, Ctx, UsageError, mixed_scripts, one_script, shown, typed
from bot.notify.people.commands import BY_NAME, COMMANDS, answer
from bot.rules.catalogue import AGGREGATES, load_rules
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


@pytest.mark.parametrize(
    ("name", "scripts"),
    [
        ("j\u0430pan", ["LATIN", "CYRILLIC"]),  # a Cyrillic "а": reads "japan"
        ("\u0441hina", ["LATIN", "CYRILLIC"]),  # a Cyrillic "с"
        ("\u0391sia", ["LATIN", "GREEK"]),  # a Greek capital alpha
        ("Japan + Chin\u03b1", ["LATIN", "GREEK"]),  # a Greek small alpha
        ("Ben\u0435lux 2", ["LATIN", "CYRILLIC"]),
        ("\u0410зи\u03b1", ["CYRILLIC", "GREEK"]),  # Cyrillic and Greek look-alikes together
        ("日本japan", ["LATIN", "CJK"]),
        ("Asia \u0627\u0644", ["LATIN", "ARABIC"]),
    ],
)
def test_a_name_mixing_scripts_is_found_out(name: str, scripts: list[str]):
    assert list(mixed_scripts(name)) == scripts
    with pytest.raises(UsageError, match=f"mixes {scripts[0].title()} and") as err:
        one_script(name)
    odd = mixed_scripts(name)[scripts[1]][0]
    assert f"{odd} U+{ord(odd):04X}" in str(err.value)


@pytest.mark.parametrize(
    "name",
    [
        "japan",
        "Japan + China",
        "Benelux & co",
        "G7 + 2",
        "2024",
        "&",
        "+",
        "Азия",  # Cyrillic only
        "Ελλάδα",  # Greek only
        "Côte d'Ivoire",  # Latin letters with accents are Latin
        "Türkiye",
        "東アジア",  # Japanese writes Han and kana together
        "日本々",  # with the iteration mark
        "한국中國",  # Korean: Hangul and Han
        "e\u0301t\u00e9",  # a combining accent is no script's letter
    ],
)
def test_a_name_in_one_script_passes(name: str):
    assert mixed_scripts(name) == {}
    assert one_script(name) == name


def test_every_name_the_bot_knows_is_in_one_script():
    for name in [*known_countries(), *AGGREGATES]:
        assert one_script(name) == name


@pytest.mark.parametrize(
    "command",
    [
        "/group j\u0430pan = belgium + netherlands",
        "/group Asia = j\u0430pan + china",  # a member
        "/watch j\u0430pan",
        "/watch j\u0430pan stocks",
        "/unwatch j\u0430pan",
        "/chart j\u0430pan 5",
        "/chart j\u0430pan corporates",
        "/ungroup j\u0430pan",
    ],
)
def test_every_command_that_takes_a_name_refuses_one_mixing_scripts(bot: ChatBot, command: str):
    reply = ask(bot, command)
    assert reply.startswith("'j\u0430pan' mixes Latin and Cyrillic letters (\u0430 U+0430)"), reply
    assert bot.subscribers.get(5) is None or bot.subscribers.get(5).groups == {}


def test_names_in_different_scripts_side_by_side_are_fine(bot: ChatBot):
    assert ask(bot, "/group Азия = japan + china").startswith("Group Азия = Japan + China, Mainland.")
    assert ask(bot, "/watch азия stocks").startswith("Watching Азия and stocks (U.S. stocks).")


def test_a_group_made_before_the_check_can_still_be_deleted(bot: ChatBot):
    ask(bot, "/start")
    bot.subscribers.set_group(5, "j\u0430pan", ("Belgium", "Netherlands"))
    assert "mixes Latin and Cyrillic" in ask(bot, "/chart j\u0430pan")
    assert ask(bot, "/ungroup J\u0430PAN") == "Deleted your group j\u0430pan."
    assert bot.subscribers.get(5).groups == {}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_read_only_database_still_answers_reads_and_refuses_writes_clearly(bot: ChatBot):
    told: list[str] = []
    bot.db.alert, bot.db.clock = told.append, (clock := Clock())
    ask(bot, "/start")
    bot.subscribers.conn.execute("PRAGMA query_only = ON")
    assert ask(bot, "/status").startswith("This chat: subscribed")
    assert ask(bot, "/status", chat_id=77).startswith("This chat: not subscribed")  # unknown chat
    for command in ("/stop", "/mode summary", "/watch japan", "/set holdings-3m-drop 80"):
        reply = ask(bot, command)
        assert reply.startswith("Not saved: the bot cannot write its database right now"), command
        assert "(the database is read-only)" in reply
    assert told == [
        "the database cannot be written (the database is read-only): commands that change settings fail"
    ]
    bot.subscribers.conn.execute("PRAGMA query_only = OFF")
    clock.now += 30
    assert ask(bot, "/mode summary").startswith("Mode: summary")
    assert len(told) == 1  # writes work again only when none failed for a minute
    clock.now += 31
    ask(bot, "/status")
    assert told[1:] == ["the database can be written again (it failed: the database is read-only)"]
    assert bot.subscribers.get(5).active


def test_a_command_reads_its_chat_once_and_records_it_only_when_that_changes_something(bot: ChatBot):
    ask(bot, "/start")
    bot.subscribers.conn = counted = Counted(bot.subscribers.conn)
    for command in ("/status", "/rules", "/watching", "/chart japan"):
        ask(bot, command)
        assert counted.statements == 1, (command, counted.sql)  # the read: nothing to record
        counted.sql.clear()
    assert ask(bot, "/mode summary").startswith("Mode: summary")
    assert counted.statements == 2 and counted.sql[1].startswith("UPDATE chats SET mode")
    counted.sql.clear()
    renamed = Ctx(5, "private", "Ann", 5, [], NOW)
    asyncio.run(answer(bot, BY_NAME["status"], renamed))
    assert counted.statements == 2 and counted.sql[1].startswith("INSERT INTO chats")  # a new title
    assert bot.subscribers.get(5).title == "Ann"
    counted.sql.clear()
    asyncio.run(answer(bot, BY_NAME["status"], renamed))
    assert counted.statements == 1
    (reply,) = asyncio.run(answer(bot, BY_NAME["status"], Ctx(6, "group", "New", 6, [], NOW)))
    assert reply.text.startswith("This chat: not subscribed")
    assert bot.subscribers.get(6).title == "New"  # a chat met is recorded by its first command


def test_postgres_read_only_answers_reads_and_refuses_writes_in_the_same_words(pg_server, rules):
    url = pg_server.create()
    db = connect(url)
    bot = ChatBot(Subscribers(db), rules, SETTINGS.groups, SETTINGS.poller.calendar())
    told: list[str] = []
    bot.db.alert, bot.db.clock = told.append, (clock := Clock())
    ask(bot, "/start")
    pg_server.read_only(url, True)  # e.g. the server became a standby
    # the ended session costs one statement (read again); its replacement is read-only
    assert ask(bot, "/status").startswith("This chat: subscribed")
    for command in ("/stop", "/mode summary", "/set holdings-3m-drop 80"):
        reply = ask(bot, command)
        assert reply.startswith("Not saved: the bot cannot write its database right now"), command
        assert "(the database is read-only)" in reply
    assert told == [
        "the database cannot be written (the database is read-only): commands that change settings fail"
    ]
    pg_server.read_only(url, False)
    ask(bot, "/status")
    clock.now += 61
    assert ask(bot, "/mode summary").startswith("Mode: summary")
    assert told[1:] and "can be written again" in told[-1]
    db.close()


def test_a_full_disk_answers_reads_and_refuses_writes_until_there_is_room(bot: ChatBot):
    told: list[str] = []
    bot.db.alert, bot.db.clock = told.append, (clock := Clock())
    conn = bot.subscribers.conn
    ask(bot, "/start")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    for chat in range(100, 160):  # new chats until a page is needed and cannot be had
        reply = ask(bot, "/start", chat_id=chat)
        if reply.startswith("Not saved"):
            break
    assert "(the disk is full)" in reply
    assert ask(bot, "/next", chat_id=chat).startswith("Next releases")
    assert ask(bot, "/status", chat_id=chat).startswith("This chat: not subscribed")
    assert len(told) == 1
    conn.execute("PRAGMA max_page_count = 1000000")
    clock.now += 61
    assert ask(bot, "/start", chat_id=chat).startswith("Subscribed")
    assert len(told) == 2


def test_mute_all_is_every_rule_or_none(bot: ChatBot):
    """/mute all is one transaction: a write refused halfway (here by a trigger on one rule) leaves
    no rule muted, and the chat is told it was not saved."""
    ask(bot, "/start")
    middle = bot.rules[len(bot.rules) // 2].id
    bot.subscribers.conn.execute(
        f"CREATE TRIGGER refuse BEFORE INSERT ON chat_rules WHEN NEW.rule = '{middle}'"
        " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
    )
    assert ask(bot, "/mute all").startswith("Not saved")
    chat = bot.subscribers.get(5)
    assert chat is not None
    assert chat.rules == {}
    bot.subscribers.conn.execute("DROP TRIGGER refuse")
    assert ask(bot, "/mute all") == "Muted every rule until /unmute."
    assert ask(bot, "/unmute all") == "Unmuted."
    chat = bot.subscribers.get(5)
    assert chat is not None
    assert not any(chat.muted(rule.id, NOW.date()) for rule in bot.rules)
