"""The Pacer on a simulated clock: overall slots, a chat's own interval, a 429's pause."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.notify.outbound.pacer import CATCH_UP, MARGIN, PAID_PER_SECOND, Pacer, pacer_for
from bot.notify.settings import TelegramSettings


class Time:
    """A clock that moves only when slept on."""

    def __init__(self, start: float = 1000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def pacer(t: Time, per_second: float = 10.0) -> Pacer:
    return Pacer(per_second=per_second, private_per_second=1.0, group_per_minute=20.0, clock=t, sleep=t.sleep)


def slots(p: Pacer, t: Time, chats: list[int], sent: bool = True) -> list[float]:
    """When each send of ``chats`` (in order) got its slot."""

    async def go() -> list[float]:
        out = []
        for chat in chats:
            await p.wait(chat)
            out.append(t.now)
            if sent:
                p.sent(chat)
        return out

    return asyncio.run(go())


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in itertools.pairwise(times)]


def test_overall_slots_are_one_interval_apart():
    t = Time()
    assert gaps(slots(pacer(t), t, [1, 2, 3, 4])) == [0.1, 0.1, 0.1]


def test_the_first_send_goes_at_once():
    t = Time()
    assert slots(pacer(t), t, [1]) == [1000.0]


def test_a_private_chat_gets_one_message_a_second_counted_from_arrival():
    t = Time()
    assert gaps(slots(pacer(t), t, [1, 1])) == [pytest.approx(1.0 * MARGIN)]


def test_a_group_gets_twenty_a_minute():
    t = Time()
    assert gaps(slots(pacer(t), t, [-5, -5])) == [pytest.approx(3.0 * MARGIN)]


def test_other_chats_do_not_wait_for_a_slow_chat():
    t = Time()
    times = slots(pacer(t), t, [-5, 7])
    assert gaps(times) == [0.1]


def test_a_429_pauses_every_send():
    t = Time()
    p = pacer(t)
    p.pause(5.0)
    assert slots(p, t, [9]) == [1005.0]


def test_a_stalled_loop_does_not_release_a_burst():
    t = Time()
    p = pacer(t)
    slots(p, t, [1])
    t.now += 10.0  # the loop was busy elsewhere: the slots of that time are not owed
    assert gaps(slots(p, t, [2, 3, 4])) == [0.1, 0.1]


def test_memory_stays_bounded_with_many_chats():
    t = Time()
    p = pacer(t, per_second=1000.0)
    slots(p, t, list(range(1, 5000)))
    t.now += 60.0
    slots(p, t, [5001])
    assert len(p._next) <= 4097


def test_paid_broadcasts_raise_the_overall_rate_to_just_under_telegrams_1000():
    assert pacer_for(TelegramSettings(paid_broadcast=True)).interval == pytest.approx(1 / PAID_PER_SECOND)
    assert 900 <= PAID_PER_SECOND < 1000


class LateTime(Time):
    """An event loop whose timers fire late (epoll counts whole milliseconds)."""

    def __init__(self, late: float):
        super().__init__()
        self.late = late

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds) + self.late


def test_timers_firing_late_do_not_slow_the_pace():
    t = LateTime(late=0.0008)
    p = pacer(t, per_second=950.0)
    times = slots(p, t, list(range(1, 951)))
    assert times[-1] - times[0] == pytest.approx(949 / 950, abs=0.002)  # 950 in a second, not 560
    assert min(gaps(times)) >= 0.0  # and in order


def test_a_late_slot_is_made_up_by_at_most_catch_up():
    t = Time()
    p = pacer(t, per_second=100.0)
    slots(p, t, [1])
    t.now += CATCH_UP / 2  # a little late: the schedule holds
    assert gaps(slots(p, t, [2, 3])) == [pytest.approx(0.01)]
    t.now += CATCH_UP * 3  # a stall: the schedule starts again from now
    assert gaps(slots(p, t, [4, 5, 6])) == [pytest.approx(0.01)] * 2


def test_settings_set_the_pace():
    assert pacer_for(TelegramSettings(messages_per_second=20.0)).interval == pytest.approx(0.05)
