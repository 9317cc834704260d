"""AiohttpRequest: python-telegram-bot's calls on aiohttp, against the fake Bot API (real HTTP on
127.0.0.1) and hand-made answers: what the wire may do is read, failures are python-telegram-bot's
errors, and one written but never answered is an UnknownOutcome."""

from __future__ import annotations

import asyncio
import gzip
import json
import time

import pytest
from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram_server import TelegramServer
from waits import await_until

from bot.notify.outbound.transport import AiohttpRequest, UnknownOutcome
from bot.notify.outbound.verdicts import Action, classify
from bot.notify.patience import kind_of
from bot.telemetry import Telemetry

TOKEN = "123456789:AAtest-token"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (640).to_bytes(4, "big") + (480).to_bytes(4, "big") + b"..."
OK = b'{"ok":true,"result":true}'


@pytest.fixture
def server():
    with TelegramServer(limits=False, hang_seconds=1.0) as s:
        yield s


def bot_for(server: TelegramServer, **kwargs) -> Bot:
    return Bot(TOKEN, base_url=server.base_url, request=AiohttpRequest(**kwargs))


def test_calls_go_on_one_kept_alive_connection_as_json_and_answer_as_with_httpx(server, monkeypatch):
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
    assert {c.content_type for c in sends} == {"application/json"}
    assert [s.text for s in server.sent(7)][:2] == ["<b>n° 0</b> &amp; more", "<b>n° 1</b> &amp; more"]


def test_an_upload_goes_as_multipart_and_a_file_id_as_json(server):
    async def scenario():
        async with bot_for(server) as bot:
            first = await bot.send_photo(7, PNG, caption="chart «1»", parse_mode="HTML")
            await bot.send_photo(8, first.photo[-1].file_id, caption="again")
            return first.photo[-1].file_id

    first_id = asyncio.run(scenario())
    assert server.uploads == 1
    assert [s.photo for s in server.sent()] == ["upload", first_id]
    assert [s.text for s in server.sent()] == ["chart «1»", "again"]
    assert [c.content_type for c in server.calls("sendPhoto")] == ["multipart/form-data", "application/json"]


def test_a_file_is_downloaded_with_a_get(server):
    async def scenario():
        async with Bot(
            TOKEN, base_url=server.base_url, base_file_url=server.base_file_url, request=AiohttpRequest()
        ) as bot:
            sent = await bot.send_photo(7, PNG)
            file = await bot.get_file(sent.photo[-1].file_id)
            return bytes(await file.download_as_bytearray())

    assert asyncio.run(scenario()) == PNG


def test_no_answer_in_time_is_an_unknown_outcome_and_the_connection_is_not_used_again(server):
    async def scenario():
        async with bot_for(server, timeout=0.3) as bot:
            await bot.send_message(7, "one")
            server.fail_next("sendMessage", "timeout")  # held 1 s, past the client's 0.3 s
            with pytest.raises(UnknownOutcome, match=r"no answer within 0.3 s"):
                await bot.send_message(7, "held")
            await bot.send_message(8, "after")

    asyncio.run(scenario())
    ports = [c.peer_port for c in server.calls("sendMessage")]
    assert ports[0] == ports[1] != ports[2]  # the answer to "held" may still come: never read it


def test_a_connection_closed_without_an_answer_is_an_unknown_outcome(server):
    async def scenario():
        async with bot_for(server, timeout=5.0) as bot:
            outage = server.outage(start_in=0.0, seconds_502=0.0, seconds_timeout=0.3)  # held, then dropped
            with pytest.raises(UnknownOutcome) as caught:
                await bot.send_message(7, "dropped")
            assert TOKEN not in str(caught.value)
            await await_until(lambda: time.monotonic() >= outage.end, what="the outage over")
            assert (await bot.send_message(7, "back")).text == "back"

    asyncio.run(scenario())


def test_every_connection_busy_past_the_pool_timeout_is_a_plain_timeout(server):
    async def scenario():
        async with bot_for(server, connections=1, timeout=2.0) as bot:
            server.fail_next("sendMessage", "timeout", chat_id=1)
            held = asyncio.create_task(bot.send_message(1, "held"))
            await await_until(lambda: server.calls("sendMessage", chat_id=1), what="the held call")
            with pytest.raises(TimedOut, match="Pool timeout") as caught:
                await bot.send_message(2, "waits", pool_timeout=0.2)
            assert not isinstance(caught.value, UnknownOutcome)  # nothing was written
            await held

    asyncio.run(scenario())
    assert server.calls("sendMessage", chat_id=2) == []


def test_a_refused_connection_is_a_network_error_without_the_url():
    async def scenario():
        listening = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = listening.sockets[0].getsockname()[1]
        listening.close()
        await listening.wait_closed()  # nothing listens there now
        async with Bot(TOKEN, base_url=f"http://127.0.0.1:{port}/bot", request=AiohttpRequest()):
            pass

    with pytest.raises(NetworkError) as caught:
        asyncio.run(scenario())
    assert not isinstance(caught.value, UnknownOutcome)  # never written: certainly not sent
    assert "Connecting to the Bot API" in str(caught.value)
    assert TOKEN not in str(caught.value) and "/bot" not in str(caught.value)


async def _canned(
    answers: list[bytes], drip: float = 0.0, close_after: int = 0
) -> tuple[asyncio.Server, list[bytes]]:
    """A server on 127.0.0.1 answering each request (its head and body read) with the next of
    ``answers`` (on any connection), a byte every ``drip`` seconds if set; b"" closes the
    connection unanswered, and so does an answer that ends with it; ``close_after`` answers
    closes it too (without saying so). The requests' heads are kept, each after its connection's
    number ("#1 " …).
    The requests' heads are kept."""
    heads: list[bytes] = []
    queue = list(answers)
    connections = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections[0] += 1
        number, answered = connections[0], 0
        try:
            while queue and not (close_after and answered >= close_after):
                head = await reader.readuntil(b"\r\n\r\n")
                heads.append(b"#%d %s" % (number, head))
                answered += 1
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                await reader.readexactly(length)
                answer = queue.pop(0)
                if not answer:
                    break
                for i in range(0, len(answer), 1 if drip else len(answer)):
                    writer.write(answer[i : i + (1 if drip else len(answer))])
                    await writer.drain()
                    if drip:
                        await asyncio.sleep(drip)
                if b"Connection: close" in answer or not (
                    b"Content-Length" in answer or b"chunked" in answer
                ):
                    break  # the answer ends with the connection
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0), heads


def _answer(body: bytes = OK, *headers: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + body


def _sized(body: bytes = OK, *headers: bytes) -> bytes:
    return _answer(body, b"Content-Length: %d" % len(body), *headers)


def _chunked(body: bytes = OK) -> bytes:
    half = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]))
    return _answer(chunks + b"0\r\nX-Trailer: 1\r\n\r\n", b"Transfer-Encoding: chunked")


WIRE = {
    "by length": [_sized(), _sized()],
    "100 Continue first": [b"HTTP/1.1 100 Continue\r\n\r\n" + _sized()] * 2,
    "gzip unasked": [_sized(gzip.compress(OK), b"Content-Encoding: gzip")] * 2,
    "chunked with a trailer": [_chunked(), _chunked()],
    "to the end of the connection": [b"HTTP/1.0 200 OK\r\n\r\n" + OK] * 2,
    "closed after each answer": [_sized(OK, b"Connection: close")] * 2,
}


async def _ask(url: str, request: AiohttpRequest, method: str = "getMe") -> tuple[int, bytes]:
    return await request.do_request(f"{url}/bot{TOKEN}/{method}", "POST", RequestData([]))


@pytest.mark.parametrize("wire", list(WIRE), ids=list(WIRE))
def test_what_the_wire_may_do_is_read(wire: str):
    async def scenario():
        listening, _ = await _canned(WIRE[wire])
        url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
        request = AiohttpRequest(timeout=2.0)
        await request.initialize()
        try:
            assert await _ask(url, request) == (200, OK)
            assert await _ask(url, request) == (200, OK)  # on the same connection or a new one
        finally:
            await request.shutdown()
            listening.close()

    asyncio.run(scenario())


def test_an_answer_that_drips_but_keeps_coming_is_read_past_the_read_timeout():
    async def scenario():
        listening, _ = await _canned([_sized()], drip=0.01)  # ~0.6 s in all, a byte each 10 ms
        url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
        request = AiohttpRequest(timeout=0.25)
        await request.initialize()
        try:
            started = time.monotonic()
            assert await _ask(url, request) == (200, OK)
            assert time.monotonic() - started > 0.25
        finally:
            await request.shutdown()
            listening.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("answer", [b"", b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{"])
def test_a_connection_cut_before_the_whole_answer_is_an_unknown_outcome(answer):
    async def scenario():
        listening, heads = await _canned([answer])
        url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
        request = AiohttpRequest(timeout=2.0)
        await request.initialize()
        try:
            with pytest.raises(UnknownOutcome, match="Bot API connection lost") as caught:
                await _ask(url, request, "sendMessage")
            assert heads  # the request reached the server
            assert TOKEN not in str(caught.value)
        finally:
            await request.shutdown()
            listening.close()

    asyncio.run(scenario())


def test_a_connection_the_server_closed_while_idle_is_not_used_again():
    async def scenario():
        listening, heads = await _canned([_sized()] * 2, close_after=1)  # then closes, not saying so
        url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
        request = AiohttpRequest(timeout=2.0)
        await request.initialize()
        try:
            assert await _ask(url, request) == (200, OK)
            connector = request._session.connector

            def closed() -> bool:  # the loop has read the server's close
                return all(
                    not proto.is_connected() for conns in connector._conns.values() for proto, _ in conns
                )

            await await_until(closed, what="the idle connection seen closed")
            assert await _ask(url, request) == (200, OK)
        finally:
            await request.shutdown()
            listening.close()
        return heads

    assert [head[:3] for head in asyncio.run(scenario())] == [b"#1 ", b"#2 "]


def test_a_proxy_in_the_environment_is_used(monkeypatch):
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)

    async def scenario():
        proxy, heads = await _canned([_sized()])
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.sockets[0].getsockname()[1]}")
        request = AiohttpRequest(timeout=2.0)
        await request.initialize()
        try:
            assert await _ask("http://api.telegram.invalid", request) == (200, OK)
        finally:
            await request.shutdown()
            proxy.close()
        return heads

    (head,) = asyncio.run(scenario())
    assert head.startswith(f"#1 POST http://api.telegram.invalid/bot{TOKEN}/getMe HTTP/1.1".encode())
    assert b"application/json" in head


def test_an_unknown_outcome_is_a_retry_marked_unknown_and_counted_by_its_own_metric():
    verdict = classify(UnknownOutcome("no answer within 10 s"))
    assert verdict.action is Action.RETRY and verdict.unknown
    assert verdict.detail == "network: unknown outcome: no answer within 10 s"
    assert not classify(TimedOut("Pool timeout")).unknown
    assert not classify(NetworkError("Connecting to the Bot API: Connection refused")).unknown
    telemetry = Telemetry()
    telemetry.unknown_outcomes.inc()
    assert telemetry.registry.get_sample_value("tic_alert_unknown_outcomes_total") == 1.0


def test_a_timeout_reads_well_in_the_start_up_line():
    assert kind_of(UnknownOutcome("no answer within 10 s")) == "TimedOut: no answer within 10 s"
    assert kind_of(NetworkError("Connecting to the Bot API: Connection refused")) == (
        "NetworkError: Connecting to the Bot API: Connection refused"
    )
    assert json.loads(OK)["ok"]


def test_unknown_outcomes_are_one_warning_line_per_kind_naming_the_method_not_the_token(caplog):
    async def scenario():
        listening, _ = await _canned([b"", b"", b""])  # every request read, never answered
        url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}"
        request = AiohttpRequest(timeout=2.0)
        await request.initialize()
        try:
            for _ in range(3):
                with pytest.raises(UnknownOutcome):
                    await _ask(url, request, "sendMessage")
        finally:
            await request.shutdown()
            listening.close()

    with caplog.at_level("WARNING", logger="tic_alert.transport"):
        asyncio.run(scenario())
    (line,) = [r.getMessage() for r in caplog.records if r.name == "tic_alert.transport"]
    assert line == (
        "Bot API sendMessage: unknown outcome (Bot API connection lost: the server closed the connection):"
        " it may have reached Telegram"
    )
