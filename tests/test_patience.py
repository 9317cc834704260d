"""Attempts on a fake clock: the backoff and the one line per kind of failure that start-up,
the Treasury and getUpdates wait with (tests/test_bot_startup.py shows it once, end to end)."""

from __future__ import annotations

import logging

import pytest

from bot.notify.patience import Attempts


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="tic_alert.bot")
    return caplog


def told(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


def test_a_failure_that_repeats_is_one_warning_and_the_tries_back_off_to_the_cap(lines):
    clock = Clock()
    attempts = Attempts("Telegram unreachable at start-up", clock=clock)
    delays = []
    for _ in range(9):  # the tries at 0, 1, 3, 7, 15, … s
        delays.append(attempts.failed("NetworkError: connection refused"))
        clock.now += delays[-1]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    assert told(lines, logging.WARNING) == [
        "Telegram unreachable at start-up: NetworkError: connection refused;"
        " trying again with backoff (1 s, doubling to 60 s)"
    ]
    assert len(told(lines, logging.DEBUG)) == 8  # the repeats: quiet at the default level
    assert "(attempt 9; next in 60 s)" in told(lines, logging.DEBUG)[-1]


def test_another_kind_of_failure_is_told_and_the_same_kind_again_after_the_quiet_time(lines):
    clock = Clock()
    attempts = Attempts("Treasury", quiet=600.0, clock=clock)
    attempts.failed("HTTP 503")
    clock.now += 10
    attempts.failed("timeout")  # a new kind: told at once
    clock.now += 10
    attempts.failed("HTTP 503")  # told 20 s ago: quiet
    clock.now += 600
    attempts.failed("HTTP 503")  # 610 s after it was told: told again
    assert [line.split(";")[0] for line in told(lines, logging.WARNING)] == [
        "Treasury: HTTP 503",
        "Treasury: timeout",
        "Treasury: HTTP 503",
    ]


def test_a_success_after_failures_is_one_line_and_starts_over(lines):
    clock = Clock()
    attempts = Attempts("Telegram unreachable at start-up", clock=clock)
    attempts.succeeded()  # no failure before: nothing to say
    for _ in range(3):
        clock.now += attempts.failed("NetworkError: Bad Gateway")
    attempts.succeeded()
    assert told(lines, logging.INFO) == [
        "Telegram unreachable at start-up: fine again after 3 failed attempt(s), 7 s"
    ]
    assert attempts.failed("NetworkError: Bad Gateway") == 1.0  # the backoff starts over
    assert len(told(lines, logging.WARNING)) == 2  # and the failure is told again
