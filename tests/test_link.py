"""The sender's link to Telegram on a simulated clock: when it goes down, probes, comes back."""

from __future__ import annotations

from bot.notify.outbound.link import Link


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def link(clock: Clock) -> Link:
    return Link(trip_after=3, first_probe=0.5, max_probe=4.0, clock=clock)


def down(clock: Clock) -> Link:
    """A link that has just gone down (three failures in a row)."""
    lk = link(clock)
    for _ in range(3):
        lk.failed()
    return lk


def test_one_failure_among_answers_keeps_the_link_up():
    c = Clock()
    lk = link(c)
    lk.failed()
    lk.answered()
    lk.failed()
    lk.failed()
    assert not lk.down


def test_three_failures_in_a_row_take_it_down():
    c = Clock()
    lk = down(c)
    assert lk.down_since == 100.0


def test_the_first_probe_waits_half_a_second():
    c = Clock()
    lk = down(c)
    c.now += 0.4
    assert not lk.probe_due()
    c.now += 0.1
    assert lk.probe_due()


def test_one_probe_at_a_time():
    c = Clock()
    lk = down(c)
    c.now += 1
    lk.probe_started()
    assert not lk.probe_due()


def test_probes_back_off_up_to_four_seconds():
    c = Clock()
    lk = down(c)
    waits = []
    for _ in range(6):
        c.now += 10
        lk.probe_started()
        lk.probe_failed()
        start = c.now
        while not lk.probe_due():
            c.now += 0.25
        waits.append(c.now - start)
    assert waits == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


def test_failures_while_down_do_not_move_the_outage_start():
    c = Clock()
    lk = down(c)
    c.now += 5
    lk.failed()
    assert lk.down_since == 100.0


def test_an_answer_ends_the_outage():
    c = Clock()
    lk = down(c)
    assert lk.answered() is True
    assert not lk.down


def test_an_answer_when_up_ends_nothing():
    assert link(Clock()).answered() is False
