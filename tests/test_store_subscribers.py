"""Chats and their settings on both backends, one behaviour per test."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.store.db import connect
from bot.store.subscribers import ChatMode, RuleSetting, Subscribers

NOW = dt.datetime(2026, 6, 18, 20, 5, tzinfo=dt.UTC)
RULE = "holdings-3m-drop"


@pytest.fixture
def subs(db_url):
    db = connect(db_url)
    yield Subscribers(db)
    db.close()


def met(subs: Subscribers, chat_id: int, chat_type: str = "private", subscribed: bool = True) -> None:
    subs.touch(chat_id, chat_type, "", NOW)
    subs.set_subscribed(chat_id, subscribed, NOW)


def test_a_chat_met_is_not_subscribed(subs):
    subs.touch(1, "private", "Ann", NOW)
    assert subs.get(1).subscribed is False


def test_touch_keeps_the_title_current(subs):
    subs.touch(1, "group", "Old", NOW)
    subs.touch(1, "group", "New", NOW)
    assert subs.get(1).title == "New"


def test_an_unknown_chat_is_none(subs):
    assert subs.get(5) is None


def test_a_new_chat_gets_alerts_only(subs):
    met(subs, 1)
    assert subs.get(1).mode == ChatMode.ALERTS


def test_set_mode_refuses_an_unknown_mode(subs):
    met(subs, 1)
    with pytest.raises(ValueError, match="alerts, summary"):
        subs.set_mode(1, "loud", NOW)


def test_set_rule_sets_only_what_it_is_given(subs):
    met(subs, 1)
    subs.set_rule(1, RULE, threshold=20.0)
    subs.set_rule(1, RULE, floor=5.0)
    assert subs.get(1).rules[RULE] == RuleSetting(threshold=20.0, floor=5.0)


def test_set_rule_refuses_an_unknown_field(subs):
    met(subs, 1)
    with pytest.raises(ValueError, match="set_rule takes"):
        subs.set_rule(1, RULE, loudness=3)


def test_a_chat_is_muted_through_the_last_day(subs):
    met(subs, 1)
    subs.set_rule(1, RULE, muted_until="2026-06-18")
    assert subs.get(1).muted(RULE, dt.date(2026, 6, 18))


def test_a_mute_ends_the_day_after(subs):
    met(subs, 1)
    subs.set_rule(1, RULE, muted_until="2026-06-18")
    assert not subs.get(1).muted(RULE, dt.date(2026, 6, 19))


def test_reset_one_rule_keeps_the_others(subs):
    met(subs, 1)
    subs.set_rule(1, RULE, threshold=20.0)
    subs.set_rule(1, "multi-year-low", threshold=2.0)
    assert subs.reset_rules(1, RULE) == 1
    assert list(subs.get(1).rules) == ["multi-year-low"]


def test_active_chats_are_subscribed_and_reachable(subs):
    met(subs, 1)
    met(subs, 2, subscribed=False)
    met(subs, 3)
    subs.set_blocked(3, True, NOW)
    assert [c.chat_id for c in subs.active_chats()] == [1]


def test_active_chats_carry_their_settings(subs):
    met(subs, 1)
    subs.set_rule(1, RULE, threshold=20.0)
    subs.watch(1, "Japan")
    subs.set_group(1, "Pair", ("Japan", "Belgium"))
    (chat,) = subs.active_chats()
    settings = (chat.rules[RULE].threshold, chat.watches, chat.groups)
    assert settings == (20.0, ("Japan",), {"Pair": ("Japan", "Belgium")})


class Counted:
    """A Database that keeps the statements run through it (each one a round trip to a server)."""

    def __init__(self, db):
        self.db, self.sql = db, []

    @property
    def statements(self) -> int:
        return len(self.sql)

    def execute(self, sql, args=()):
        self.sql.append(sql)
        return self.db.execute(sql, args)

    def executemany(self, sql, rows):
        self.sql.append(sql)
        return self.db.executemany(sql, rows)

    def __enter__(self):
        return self.db.__enter__()

    def __exit__(self, *exc):
        return self.db.__exit__(*exc)


def test_one_chat_is_read_in_one_statement_with_every_setting(subs):
    """get() is one statement (one round trip to a server) and says what active_chats() says."""
    for chat_id in (1, 2):
        met(subs, chat_id)
        subs.watch(chat_id, "Japan")
        subs.set_group(chat_id, "Zed", ("Japan", "China"))
    subs.set_mode(1, "summary", NOW)
    subs.set_rule(1, RULE, threshold=20.0, floor=5.0)
    subs.set_rule(1, "record-3m-decline", enabled=0, muted_until="2026-07-01")
    subs.watch(1, "Belgium")
    subs.watch(1, "Pair")  # a watch and a group of the same name
    subs.set_group(1, "Pair", ("Japan", "Belgium"))
    counted = Counted(subs.conn)
    chat = Subscribers(counted).get(1)
    assert counted.statements == 1
    assert chat == next(c for c in subs.active_chats() if c.chat_id == 1)
    assert (chat.type, chat.mode, chat.active) == ("private", ChatMode.SUMMARY, True)
    assert chat.rules == {
        RULE: RuleSetting(threshold=20.0, floor=5.0),
        "record-3m-decline": RuleSetting(enabled=False, muted_until="2026-07-01"),
    }
    assert chat.watches == ("Belgium", "Japan", "Pair")
    assert list(chat.groups.items()) == [("Pair", ("Japan", "Belgium")), ("Zed", ("Japan", "China"))]
    assert subs.get(2).rules == {} and subs.get(2).watches == ("Japan",)


def test_start_after_a_block_unblocks(subs):
    met(subs, 1)
    subs.set_blocked(1, True, NOW)
    subs.set_subscribed(1, True, NOW)
    assert subs.get(1).active


def test_watching_twice_is_one_watch(subs):
    met(subs, 1)
    subs.watch(1, "Japan")
    assert subs.watch(1, "Japan") is False


def test_unwatch_all(subs):
    met(subs, 1)
    subs.watch(1, "Japan")
    subs.watch(1, "Belgium")
    assert subs.unwatch(1) == 2


def test_dropping_a_group_drops_its_watch(subs):
    met(subs, 1)
    subs.set_group(1, "Pair", ("Japan", "Belgium"))
    subs.watch(1, "Pair")
    subs.drop_group(1, "Pair")
    assert subs.get(1).watches == ()


def test_a_migrated_group_keeps_its_settings_under_the_new_id(subs):
    met(subs, -5, "group")
    subs.set_rule(-5, RULE, threshold=20.0)
    subs.watch(-5, "Japan")
    subs.migrate(-5, -1005, NOW)
    chat = subs.get(-1005)
    assert (chat.type, chat.rules[RULE].threshold, chat.watches) == ("supergroup", 20.0, ("Japan",))


def test_a_migrated_group_is_gone_under_the_old_id(subs):
    met(subs, -5, "group")
    subs.migrate(-5, -1005, NOW)
    assert subs.get(-5) is None


def test_migrating_onto_a_chat_met_since_replaces_it(subs):
    met(subs, -5, "group")
    subs.touch(-1005, "supergroup", "", NOW)  # the supergroup spoke to the bot first
    subs.migrate(-5, -1005, NOW)
    assert subs.get(-1005).subscribed


def test_counts(subs):
    met(subs, 1)
    met(subs, 2, subscribed=False)
    met(subs, 3)
    subs.set_blocked(3, True, NOW)
    assert subs.counts() == {"active": 1, "stopped": 1, "blocked": 1}


def test_a_migration_told_twice_keeps_the_settings(subs):
    met(subs, -5, "group")
    subs.set_rule(-5, RULE, threshold=20.0)
    subs.migrate(-5, -1005, NOW)
    subs.migrate(-5, -1005, NOW)  # the service message, then the 400 of a send to the old id
    assert subs.get(-1005).rules[RULE].threshold == 20.0
