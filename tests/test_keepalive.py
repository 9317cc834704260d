"""KeepAliveRequest: python-telegram-bot's calls over kept-alive HTTP/1.1 connections, against
the fake Bot API (real HTTP on 127.0.0.1) and a few hand-made answers."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace

import pytest
from telegram import Bot, InputFile
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter  # how PTB builds an upload
from telegram_server import TelegramServer
from test_telegram_errors import Canned
from waits import await_until

from bot.notify.outbound import keepalive
from bot.notify.outbound.keepalive import KeepAliveRequest, _answer

TOKEN = "123456789:AAtest-token"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big") + b"..."


@pytest.fixture
def server():
    with TelegramServer(limits=False, hang_seconds=1.0) as s:
        yield s


def bot_for(server: TelegramServer, **kwargs) -> Bot:
    return Bot(TOKEN, base_url=server.base_url, request=KeepAliveRequest(**kwargs))


def test_calls_go_on_one_kept_alive_connection_and_answer_as_with_httpx(server, monkeypatch):
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # RetryAfter.retry_after as PTB 23 has it

    async def scenario():
        async with bot_for(server) as bot:
            for i in range(5):
                msg = await bot.send_message(7, f"<b>n° {i}</b> &amp; more", parse_mode="HTML")
                assert msg.text == f"n° {i} & more"
            with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
                await bot.send_message(7, "<b>open", parse_mode="HTML")
            server.fail_next("sendMessage", 429, parameters={"retry_after": 3})
            with pytest.raises(RetryAfter):
                await bot.send_message(7, "flood")

    asyncio.run(scenario())
    sends = server.calls("sendMessage")
    assert len(sends) == 7
    assert len({c.peer_port for c in sends}) == 1  # one connection for all
    assert [s.text for s in server.sent(7)][:2] == ["<b>n° 0</b> &amp; more", "<b>n° 1</b> &amp; more"]


def test_an_upload_goes_through_httpx_and_the_rest_stays_on_the_kept_connection(server):
    async def scenario():
        async with bot_for(server) as bot:
            first = await bot.send_photo(7, PNG, caption="chart")
            await bot.send_photo(8, first.photo[-1].file_id, caption="again")
            return first.photo[-1].file_id

    first_id = asyncio.run(scenario())
    assert server.uploads == 1
    assert [s.photo for s in server.sent()] == ["upload", first_id]
    assert server.calls("sendPhoto")[0].content_type == "multipart/form-data"
    assert server.calls("sendPhoto")[1].content_type == "application/json"


def test_no_answer_in_time_is_a_timeout_and_the_connection_is_not_used_again(server):
    async def scenario():
        async with bot_for(server, timeout=0.3) as bot:
            await bot.send_message(7, "one")
            server.fail_next("sendMessage", "timeout")  # held 1 s, past the client's 0.3 s
            with pytest.raises(TimedOut):
                await bot.send_message(7, "held")
            await bot.send_message(8, "after")

    asyncio.run(scenario())
    ports = [c.peer_port for c in server.calls("sendMessage")]
    assert ports[0] == ports[1] != ports[2]  # the answer to "held" may still come: never read it


def test_a_connection_closed_without_an_answer_is_a_network_error(server):
    async def scenario():
        async with bot_for(server, timeout=5.0) as bot:
            outage = server.outage(start_in=0.0, seconds_502=0.0, seconds_timeout=0.3)  # held, then dropped
            with pytest.raises(NetworkError):
                await bot.send_message(7, "dropped")
            await await_until(lambda: time.monotonic() >= outage.end, what="the outage over")
            assert (await bot.send_message(7, "back")).text == "back"

    asyncio.run(scenario())


def test_every_connection_busy_past_the_pool_timeout_is_a_timeout(server):
    async def scenario():
        async with bot_for(server, pool_size=1, timeout=2.0) as bot:
            server.fail_next("sendMessage", "timeout", chat_id=1)
            held = asyncio.create_task(bot.send_message(1, "held"))
            await await_until(lambda: server.calls("sendMessage", chat_id=1), what="the held call")
            with pytest.raises(TimedOut, match="Pool timeout"):
                await bot.send_message(2, "waits", pool_timeout=0.2)
            await held

    asyncio.run(scenario())


def test_a_connection_the_server_closed_while_idle_is_replaced(server):
    async def scenario():
        request = KeepAliveRequest(timeout=2.0)
        async with Bot(TOKEN, base_url=server.base_url, request=request) as bot:
            await bot.send_message(7, "one")
            for conns in request._idle.values():
                for conn in conns:
                    conn.reader.feed_eof()  # as when the server's close has been read by the loop
            await bot.send_message(7, "two")

    asyncio.run(scenario())
    ports = [c.peer_port for c in server.calls("sendMessage")]
    assert len(ports) == 2
    assert ports[0] != ports[1]


class Recording(Canned):
    """A fallback that answers every call itself and remembers (method, url)."""

    def __init__(self):
        super().__init__(200, b'{"ok": true, "result": true}')
        self.calls: list[tuple[str, str]] = []

    async def do_request(self, url, method, request_data=None, *args, **kwargs) -> tuple[int, bytes]:
        self.calls.append((method, url.rsplit("/", 1)[-1]))
        return await super().do_request()


def test_gets_uploads_and_proxied_hosts_go_to_the_fallback_and_other_posts_do_not(server, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    base = f"{server.base_url}{TOKEN}"

    upload = RequestData([RequestParameter.from_input("photo", InputFile(PNG, filename="chart.png"))])

    async def scenario(request: KeepAliveRequest) -> None:
        await request.initialize()
        try:
            await request.do_request(f"{base}/getMe", "GET")
            await request.do_request(f"{base}/sendPhoto", "POST", upload)
            await request.do_request(f"{base}/getMe", "POST", RequestData([]))  # kept-alive: not here
        finally:
            await request.shutdown()

    direct = Recording()
    asyncio.run(scenario(KeepAliveRequest(fallback=direct)))
    assert direct.calls == [("GET", "getMe"), ("POST", "sendPhoto")]
    assert [c.method for c in server.calls()] == ["getMe"]

    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # a proxy for plain http: httpx goes through it
    proxied = Recording()
    asyncio.run(scenario(KeepAliveRequest(fallback=proxied)))
    assert proxied.calls == [("GET", "getMe"), ("POST", "sendPhoto"), ("POST", "getMe")]
    assert [c.method for c in server.calls()] == ["getMe"]  # nothing more came straight here


def test_a_connection_idle_past_the_expiry_is_not_used_again(server, monkeypatch):
    later = [0.0]  # the request's clock: real time, plus the idle seconds the test makes pass
    clock = SimpleNamespace(monotonic=lambda: time.monotonic() + later[0])
    monkeypatch.setattr(keepalive, "time", clock)

    async def scenario():
        async with bot_for(server) as bot:
            await bot.send_message(7, "one")
            await bot.send_message(7, "two")  # at once: the same connection
            later[0] = keepalive.IDLE_EXPIRY + 0.1
            await bot.send_message(7, "three")

    asyncio.run(scenario())
    ports = [c.peer_port for c in server.calls("sendMessage")]
    assert ports[0] == ports[1]
    assert ports[1] != ports[2]


def answers_of(raw: bytes, count: int = 1) -> list[tuple[int, bytes, bool]]:
    """``count`` answers read one after the other from one connection's bytes."""

    async def read():
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        return [await _answer(reader) for _ in range(count)]

    return asyncio.run(read())


def test_answers_by_length_chunked_or_to_the_close():
    ok = b'{"ok":true}'
    by_length = b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n" + ok
    assert answers_of(by_length) == [(200, ok, True)]
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n" + ok[:5] + b"\r\n6\r\n"
    chunked += ok[5:] + b"\r\n0\r\nX-Trailer: 1\r\n\r\n"
    assert answers_of(chunked + by_length, count=2) == [(200, ok, True)] * 2  # read to its very end
    closing = b"HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno"
    assert answers_of(closing) == [(502, b"no", False)]
    assert answers_of(b"HTTP/1.0 200 OK\r\n\r\n" + ok) == [(200, ok, False)]  # to the end of the connection
    with pytest.raises(asyncio.IncompleteReadError):  # cut short
        answers_of(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n" + ok)


async def _closing_server(answer: bytes) -> asyncio.Server:
    """A server on 127.0.0.1 that reads a request's head, writes ``answer`` and closes."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.mark.parametrize("answer", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{"])
def test_a_connection_closed_before_the_whole_answer_is_a_network_error(answer):
    async def scenario():
        listening = await _closing_server(answer)
        port = listening.sockets[0].getsockname()[1]
        request = KeepAliveRequest(timeout=2.0)
        await request.initialize()
        try:
            with pytest.raises(NetworkError, match="Bot API connection"):
                await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST", RequestData([]))
            assert request._idle.get(("http", "127.0.0.1", port), []) == []  # dropped, never reused
        finally:
            await request.shutdown()
            listening.close()

    asyncio.run(scenario())
