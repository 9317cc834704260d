"""A misbehaving front for the fake Bot API: a proxy on 127.0.0.1 between the bot and
tests/telegram_server.py that alters the server's answers as some real servers and middleboxes do.

    with TelegramServer() as server, TelegramFront(server, "gzip") as front:
        Bot(TOKEN, base_url=front.base_url)  # every answer gzip-encoded, unasked

Each client connection gets its own connection to the server; each request is read whole (by
Content-Length or chunked), sent on, and the server's answer (by Content-Length) written back
altered by ``mode``:

``pass``      unchanged
``drip``      a byte every ``interval`` seconds (0.1), the head too; ``methods`` limits it (e.g.
              ``SENDS``: sendMessage and sendPhoto only)
``continue``  ``HTTP/1.1 100 Continue`` before each answer
``gzip``      the body gzip-encoded (``Content-Encoding: gzip``) though nobody asked
``chunked``   the body re-framed as ``Transfer-Encoding: chunked`` (chunks of 64 bytes)
``close``     ``Connection: close`` on each answer, and the connection closed after it
``idle``      a connection idle for ``idle`` seconds (0.5) closed, without a word
``cut``       every ``every``-th (7th) answer to ``methods`` (the sends) cut mid-body, the
              connection closed: the request reached the server, the client never learns it

A held request the server drops (an outage's "timeout") closes the client's connection too.
``altered`` counts what was done ("cut", "dripped", …).
"""

from __future__ import annotations

import asyncio
import collections
import gzip
import threading
from typing import Any

MODES = ("pass", "drip", "continue", "gzip", "chunked", "close", "idle", "cut")
SENDS = frozenset({"sendMessage", "sendPhoto"})


class Message:
    """One HTTP/1.1 message's start line, headers (in order) and body."""

    def __init__(self, start: bytes, headers: list[tuple[str, str]], body: bytes):
        self.start, self.headers, self.body = start, headers, body

    def header(self, name: str) -> str:
        return next((v for k, v in self.headers if k.lower() == name.lower()), "")

    def without(self, *names: str) -> list[tuple[str, str]]:
        lower = {n.lower() for n in names}
        return [(k, v) for k, v in self.headers if k.lower() not in lower]

    def encode(self, headers: list[tuple[str, str]] | None = None, body: bytes | None = None) -> bytes:
        lines = b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in (headers or self.headers))
        return self.start + b"\r\n" + lines + b"\r\n" + (self.body if body is None else body)


async def read_message(reader: asyncio.StreamReader, idle: float | None = None) -> Message | None:
    """The next message on a connection (its body by Content-Length or chunked); None at its end
    or when no message begins within ``idle`` seconds (a cancelled readuntil consumes nothing)."""
    try:
        async with asyncio.timeout(idle):
            start = (await reader.readuntil(b"\r\n"))[:-2]
        headers = []
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        message = Message(start, headers, b"")
        if "chunked" in message.header("Transfer-Encoding").lower():
            chunks = []
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                chunks.append(await reader.readexactly(size))
                await reader.readuntil(b"\r\n")
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            message.body = b"".join(chunks)
            message.headers = [
                *message.without("Transfer-Encoding"),
                ("Content-Length", str(len(message.body))),
            ]
        elif length := int(message.header("Content-Length") or 0):
            message.body = await reader.readexactly(length)
        return message
    except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
        return None


class TelegramFront:
    """The proxy; use as a context manager. ``server`` is a TelegramServer (anything with ``url``)."""

    def __init__(
        self,
        server: Any,
        mode: str = "pass",
        *,
        methods: frozenset[str] | None = None,
        interval: float = 0.1,
        every: int = 7,
        idle: float = 0.5,
    ):
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: one of {', '.join(MODES)}")
        self.mode, self.interval, self.every, self.idle = mode, interval, every, idle
        self.methods = methods if methods is not None else (SENDS if mode == "cut" else None)
        host, _, port = server.url.removeprefix("http://").partition(":")
        self._upstream = (host, int(port))
        self.altered: collections.Counter[str] = collections.Counter()
        self._answers: collections.Counter[str] = collections.Counter()  # per method, for ``cut``
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def __enter__(self) -> TelegramFront:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                request = await read_message(reader, self.idle if self.mode == "idle" else None)
                if request is None:
                    if self.mode == "idle" and not reader.at_eof():
                        self.altered["idle closed"] += 1
                    return
                if upstream is None:
                    upstream = await asyncio.open_connection(*self._upstream)
                upstream[1].write(request.encode())
                await upstream[1].drain()
                answer = await read_message(upstream[0])
                if answer is None:  # the server dropped the request: so does the front
                    return
                if not await self._answer(writer, _method_of(request), answer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._tasks.discard(task)
            if upstream is not None:
                upstream[1].close()
            writer.close()

    async def _answer(self, writer: asyncio.StreamWriter, method: str, answer: Message) -> bool:
        """Write the answer as the mode alters it; whether the connection goes on."""
        mode = self.mode
        chosen = self.methods is None or method in self.methods
        if mode == "cut" and chosen:
            self._answers[method] += 1
            if self._answers[method] % self.every == 0:
                data = answer.encode()
                writer.write(data[: len(data) - len(answer.body) // 2])  # the head and half the body
                await writer.drain()
                self.altered["cut"] += 1
                return False
        data, goes_on = answer.encode(), True
        if mode == "continue":
            data = b"HTTP/1.1 100 Continue\r\n\r\n" + data
        elif mode == "gzip":
            body = gzip.compress(answer.body)
            headers = [*answer.without("Content-Length"), ("Content-Encoding", "gzip")]
            data = answer.encode([*headers, ("Content-Length", str(len(body)))], body)
        elif mode == "chunked":
            pieces = [answer.body[i : i + 64] for i in range(0, len(answer.body), 64)]
            body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
            data = answer.encode([*answer.without("Content-Length"), ("Transfer-Encoding", "chunked")], body)
        elif mode == "close":
            data = answer.encode([*answer.without("Connection"), ("Connection", "close")])
            goes_on = False
        if mode == "drip" and chosen:
            self.altered["dripped"] += 1
            for i in range(len(data)):
                writer.write(data[i : i + 1])
                await writer.drain()
                await asyncio.sleep(self.interval)
        else:
            writer.write(data)
            await writer.drain()
        if mode in ("continue", "gzip", "chunked", "close"):
            self.altered[mode] += 1
        return goes_on


def _method_of(request: Message) -> str:
    """The Bot API method a request calls (the last part of its path)."""
    parts = request.start.split(b" ")
    path = parts[1].decode("latin-1") if len(parts) > 1 else ""
    return path.split("?")[0].rsplit("/", 1)[-1]
