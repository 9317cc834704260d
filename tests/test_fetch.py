"""bot.data.fetch against the fake Treasury server: validators, 304, retries, and every fault kind."""

from __future__ import annotations

import socket

import pytest
from treasury_server import FakeTreasury

from bot.data.fetch import fetch, fetch_conditional, make_session
from bot.errors import FetchError

BODY = b"Country\t2026-04\r\nJapan\t1209.9\r\n" * 50


@pytest.fixture
def server():
    with FakeTreasury(hang_seconds=0.6) as fake:
        fake.publish("f.txt", BODY, at=1_700_000_000)
        yield fake


def session(retries: int = 0):
    return make_session("tic-alert/test (TIC release monitor)", retries=retries, backoff_factor=0.0)


def test_conditional_get_sends_the_validators_and_handles_304(server):
    s = session()
    first = fetch_conditional(s, server.url + "f.txt", 2, 10**6)
    assert first.status == 200
    assert first.body == BODY
    assert first.etag
    assert first.last_modified
    again = fetch_conditional(s, server.url + "f.txt", 2, 10**6, first.etag, first.last_modified)
    assert again.not_modified
    assert again.body is None
    assert again.etag == first.etag
    sent = server.requests_for("f.txt")
    assert "If-None-Match" not in sent[0].headers
    assert sent[1].headers["If-None-Match"] == first.etag
    assert sent[1].headers["If-Modified-Since"] == first.last_modified
    assert [r.status for r in sent] == [200, 304]
    # Last-Modified alone is enough for the server to answer 304
    only_date = fetch_conditional(s, server.url + "f.txt", 2, 10**6, None, first.last_modified)
    assert only_date.not_modified


def test_a_new_edition_comes_back_despite_old_validators(server):
    s = session()
    first = fetch_conditional(s, server.url + "f.txt", 2, 10**6)
    server.publish("f.txt", BODY + b"more\r\n", at=1_700_000_100)
    second = fetch_conditional(s, server.url + "f.txt", 2, 10**6, first.etag, first.last_modified)
    assert second.status == 200
    assert second.body == BODY + b"more\r\n"
    assert second.etag != first.etag


def test_user_agent_names_the_project(server):
    fetch(session(), server.url + "f.txt", 2, 10**6)
    assert server.seen[-1].headers["User-Agent"].startswith("tic-alert/")


def test_transient_500s_are_retried_by_the_adapter(server):
    server.inject("f.txt", "500", times=2)
    assert fetch(session(retries=3), server.url + "f.txt", 2, 10**6) == BODY
    assert [r.status for r in server.requests_for("f.txt")] == [500, 500, 200]


@pytest.mark.parametrize(
    ("fault", "kind", "requests"),
    [
        ("500", "status", 2),
        ("503", "status", 2),
        ("timeout", "timeout", 2),
        # a body cut short after a 200 fails while it is read, outside urllib3's Retry (which
        # only sees the connection and the status line): not retried here; the next poll retries
        ("short", "truncated", 1),
        ("reset", "connection", 2),
    ],
)
def test_each_fault_is_a_fetch_error_of_its_kind(server, fault, kind, requests):
    server.inject("f.txt", fault, times=5)
    with pytest.raises(FetchError) as err:
        fetch(session(retries=1), server.url + "f.txt", 0.3, 10**6)
    assert err.value.kind == kind, err.value
    assert len(server.requests_for("f.txt")) == requests  # one retry (retries=1) for transient faults


def test_oversize_body_is_refused(server):
    with pytest.raises(FetchError) as err:
        fetch(session(), server.url + "f.txt", 2, 100)
    assert err.value.kind == "oversize"


def test_refused_connection():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(FetchError) as err:
            fetch(session(retries=1), f"http://127.0.0.1:{port}/f.txt", 1, 10**6)
    assert err.value.kind == "connection"
