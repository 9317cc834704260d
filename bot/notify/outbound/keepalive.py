"""The Bot API over kept-alive HTTP/1.1 connections: python-telegram-bot's request, made cheap.

httpx (python-telegram-bot's own ``HTTPXRequest``) costs 1.5–2 ms of CPU a call, most of it in
httpcore's pool, which scans every connection (a readability poll of its socket each) and every
waiting request on each call; at a paid broadcast's 1,000 messages a second that is two cores.
A call here is a request written on an idle connection (opened when none is, up to
``pool_size``) and its answer read back: Content-Length or chunked, the connection kept unless
the server closes it. The parameters go as a JSON body (the Bot API takes ``application/json``
for any call without a file): form-encoding a message's text is a Python loop over its bytes
(``urllib.parse.quote``), 50–100 µs a message, where ``json.dumps`` takes a few.
Uploads (multipart), GETs and calls through a proxy (the environment's ``HTTPS_PROXY`` and the
like) go through ``HTTPXRequest`` unchanged.

A call that gets no answer within the read timeout raises TimedOut; a connection refused,
reset or closed before the whole answer raises NetworkError (python-telegram-bot's errors, as
``HTTPXRequest`` raises them); either way the connection is dropped, never reused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import time
import urllib.request
from collections import deque
from typing import Any
from urllib.parse import urlsplit

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

IDLE_EXPIRY = 5.0  # seconds an idle connection is kept (httpx's default too)
CONNECTIONS = 16  # to the Bot API at once: a paid broadcast needs 2–4 (a call takes a few ms)


class _Conn:
    __slots__ = ("idle_since", "reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer
        self.idle_since = 0.0

    def usable(self, now: float) -> bool:
        """Not closed by the server while idle (its EOF already read by the loop), not too old."""
        return (
            not self.reader.at_eof() and not self.writer.is_closing() and now - self.idle_since < IDLE_EXPIRY
        )

    def close(self) -> None:
        self.writer.close()


def _value(given: Any, default: float | None) -> float | None:
    return default if given is BaseRequest.DEFAULT_NONE else given


class KeepAliveRequest(BaseRequest):
    """python-telegram-bot's ``request`` for the Bot API: JSON POSTs on up to
    ``pool_size`` kept-alive connections; everything else through ``HTTPXRequest``."""

    USER_AGENT = HTTPXRequest.USER_AGENT

    def __init__(
        self, *, pool_size: int = CONNECTIONS, timeout: float = 10.0, fallback: BaseRequest | None = None
    ):
        self.pool_size = pool_size
        self.timeout = timeout
        self.fallback = fallback or HTTPXRequest(
            connection_pool_size=4,
            read_timeout=timeout,
            write_timeout=timeout,
            connect_timeout=timeout,
            pool_timeout=timeout,
        )
        self._idle: dict[tuple[str, str, int], deque[_Conn]] = {}
        self._slots: asyncio.Semaphore | None = None  # made in the loop that uses it (initialize)
        self._ssl: ssl.SSLContext | None = None
        self._proxied: dict[tuple[str, str], bool] = {}  # (scheme, host) → through a proxy

    @property
    def read_timeout(self) -> float | None:
        return self.timeout

    async def initialize(self) -> None:
        self._slots = asyncio.Semaphore(self.pool_size)
        await self.fallback.initialize()

    async def shutdown(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()
        self._slots = None
        await self.fallback.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        if (
            method != "POST"
            or (request_data is not None and request_data.contains_files)
            or parts.scheme not in ("http", "https")
            or self._through_proxy(parts.scheme, parts.hostname or "")
        ):
            return await self.fallback.do_request(
                url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
            )
        if self._slots is None:
            raise RuntimeError("This KeepAliveRequest is not initialized!")
        body = json.dumps(request_data.parameters if request_data else {}, ensure_ascii=False).encode()
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        head = (
            f"POST {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: {self.USER_AGENT}\r\n"
            "Accept: */*\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode("ascii")
        try:
            async with asyncio.timeout(_value(pool_timeout, self.timeout)):
                await self._slots.acquire()
        except TimeoutError as err:
            raise TimedOut("Pool timeout: every connection to the Bot API is busy") from err
        try:
            key = (parts.scheme, host, port)
            conn = await self._connection(key, _value(connect_timeout, self.timeout))
            try:
                async with asyncio.timeout(_value(write_timeout, self.timeout)):
                    conn.writer.write(head + body)
                    await conn.writer.drain()
                async with asyncio.timeout(_value(read_timeout, self.timeout)):
                    status, payload, keep = await _answer(conn.reader)
            except TimeoutError as err:
                conn.close()
                raise TimedOut from err
            except (OSError, EOFError, asyncio.LimitOverrunError, ValueError) as err:
                conn.close()
                raise NetworkError(f"Bot API connection: {type(err).__name__}: {err}") from err
            except BaseException:  # cancelled mid-call: the answer is unread, the connection unusable
                conn.close()
                raise
            if keep:
                conn.idle_since = time.monotonic()
                self._idle.setdefault(key, deque()).append(conn)
            else:
                conn.close()
            return status, payload
        finally:
            self._slots.release()

    async def _connection(self, key: tuple[str, str, int], timeout: float | None) -> _Conn:
        """The most recently used idle connection still open, or a new one."""
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now):
                return conn
            conn.close()
        scheme, host, port = key
        secure = None
        if scheme == "https":
            secure = self._ssl = self._ssl or ssl.create_default_context()
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=secure, server_hostname=host if secure else None, limit=2**20
                )
        except TimeoutError as err:
            raise TimedOut("Connecting to the Bot API timed out") from err
        except OSError as err:
            raise NetworkError(f"Connecting to the Bot API: {type(err).__name__}: {err}") from err
        with contextlib.suppress(OSError):  # headers and body go as one write; no Nagle stalls anyway
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Conn(reader, writer)

    def _through_proxy(self, scheme: str, host: str) -> bool:
        """A proxy set in the environment for this host: httpx knows how to go through it
        (the environment is read once per host: reading it costs more than a call)."""
        key = (scheme, host)
        if key not in self._proxied:
            proxies = urllib.request.getproxies()
            self._proxied[key] = scheme in proxies and not urllib.request.proxy_bypass(host)
        return self._proxied[key]


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the connection may be used again) of one HTTP/1.1 answer."""
    line = await reader.readuntil(b"\r\n")
    version, _, rest = line.decode("latin-1").partition(" ")
    status = int(rest.split(" ", 1)[0])
    length: int | None = None
    chunked = False
    keep = version.strip() == "HTTP/1.1"
    while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
        name, _, value = line.decode("latin-1").partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = "chunked" in value
        elif name == "connection":
            keep = "close" not in value if keep else "keep-alive" in value
    if chunked:
        chunks = []
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append(await reader.readexactly(size))
            await reader.readuntil(b"\r\n")
        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
            pass
        return status, b"".join(chunks), keep
    if length is None:  # the body runs to the end of the connection
        return status, await reader.read(), False
    return status, await reader.readexactly(length), keep
