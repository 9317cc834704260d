"""The command throttle: a budget per key in a sliding window, told once, and memory that follows
the active keys only."""

from __future__ import annotations

from bot.notify.people.throttle import Throttle


def test_the_budget_is_per_key_and_frees_up_as_the_window_slides():
    t = Throttle(3, window=60)
    assert [t.check("a", s)[0] for s in (0, 1, 2, 3)] == [True, True, True, False]
    assert t.check("b", 3)[0]  # another key has its own budget
    ok, wait = t.check("a", 10)
    assert not ok
    assert wait == 50
    assert t.check("a", 60)[0]  # the command at 0 left the window


def test_a_refusal_is_told_once_per_burst():
    t = Throttle(1, window=60)
    t.check("a", 0)
    assert t.check("a", 1) == (False, 59)
    assert t.tell("a", 1)
    assert not t.tell("a", 2)
    assert t.tell("a", 62)


def test_idle_keys_are_forgotten():
    t = Throttle(5, window=60)
    for chat in range(10_000):
        t.check(chat, chat * 0.001)  # 10,000 chats within 10 s
    t.tell(1, 5)
    assert len(t) == 10_000
    t.check("late", 200)  # a window after the last of them
    assert len(t) == 1
