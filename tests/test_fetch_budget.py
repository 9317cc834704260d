"""Issue 9: on release day a timed-out request must not hold the poll past the in-window interval."""

from __future__ import annotations

import time

import pytest
from treasury_server import FakeTreasury

from bot.data.fetch import fetch, make_session, request_budget
from bot.errors import FetchError


@pytest.mark.parametrize("interval", [1, 2, 5, 10, 15, 30, 60, 300, 3600])
@pytest.mark.parametrize(
    ("timeout", "retries", "backoff"), [(30, 3, 0.5), (300, 10, 60), (0.1, 0, 0), (5, 10, 0)]
)
def test_a_request_fits_in_the_interval(interval, timeout, retries, backoff):
    b = request_budget(interval, timeout, retries, backoff)
    assert b.connect <= timeout
    assert b.read <= timeout
    assert 0 <= b.retries <= retries
    assert b.worst_case(backoff) <= max(interval, 1.0)


def test_defaults_in_the_window_keep_a_retry_and_seconds_to_read():
    b = request_budget(15, 30, 3, 0.5)
    assert b.retries >= 1
    assert b.read >= 3
    assert b.worst_case(0.5) <= 15


def test_a_timed_out_request_ends_within_the_interval():
    interval = 2.0
    b = request_budget(interval, 30, 3, 0.0)
    with FakeTreasury(hang_seconds=10) as server:
        server.publish("f.txt", b"x" * 100)
        server.inject("f.txt", "timeout", times=10)
        t = time.perf_counter()
        with pytest.raises(FetchError) as err:
            fetch(make_session("tic-alert/test", b.retries, 0.0), server.url + "f.txt", b.timeout, 10**6)
        assert time.perf_counter() - t <= interval + 0.5
    assert err.value.kind == "timeout"
