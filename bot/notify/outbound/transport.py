"""The Bot API over aiohttp: python-telegram-bot's ``request``, with HTTP left to a library.

Every call goes through one ``aiohttp.ClientSession`` (made in the loop that uses it, in
``initialize``): up to ``connections`` kept-alive connections, each closed after ``IDLE_EXPIRY``
seconds unused. What a server may do on the wire (1xx answers, gzip, chunked bodies, bodies that
come a byte at a time, connections closed after an answer or while idle) is aiohttp's job.
A call without a file goes as a JSON body (the Bot API takes ``application/json``; form-encoding
a message's text is a Python loop over its bytes, ``json.dumps`` takes a few µs); an upload as
multipart form data. A proxy in the environment (``HTTPS_PROXY``, ``NO_PROXY`` and the like) is
used, read once a host (aiohttp's ``trust_env`` reads it in a thread on every call: two thread
hops a call, a third of its CPU).

Client CPU a JSON POST (bench/transport.py): 0.15–0.2 ms here, 1–2 ms with httpx
(``HTTPXRequest``), whose pool scans every connection and waiting request on each call: at a
paid broadcast's 1,000 messages a second that would be the two cores.

Timeouts are python-telegram-bot's: ``read_timeout`` is the most a read waits for the next bytes
(an answer that keeps coming, however slowly, is read: ``sock_read``), ``connect_timeout`` the
TCP (and TLS) connect, ``pool_timeout`` the wait for a free connection. A failure before the
request was written (connect refused or timed out, no free connection) raises NetworkError or
TimedOut as ``HTTPXRequest`` does; once it was written, a timeout or a cut connection raises
:class:`UnknownOutcome`: the message may have reached Telegram. Messages never quote the URL
(the token is in it).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import time
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData

IDLE_EXPIRY = 5.0  # seconds an idle connection is kept (httpx's default too)
CONNECTIONS = 16  # to the Bot API at once: a paid broadcast needs 2–4 (a call takes a few ms)
JSON = {"Content-Type": "application/json"}
QUIET = 60.0  # seconds a kind of unknown outcome is not logged again

log = logging.getLogger("tic_alert.transport")


class UnknownOutcome(TimedOut):
    """The request was written and no whole answer came (a timeout, a cut connection): Telegram
    may or may not have taken it. A TimedOut, so whatever retries a timeout retries this."""


def _value(given: Any, default: float | None) -> float | None:
    return default if given is BaseRequest.DEFAULT_NONE else given


def _reason(err: BaseException) -> str:
    """What went wrong, in a few words and never the URL: aiohttp's messages quote it."""
    if isinstance(err, aiohttp.ClientConnectorError):
        return err.os_error.strerror or type(err.os_error).__name__
    if isinstance(err, aiohttp.ClientResponseError):  # its str() ends with the URL
        return err.message
    if isinstance(err, aiohttp.ClientPayloadError):
        return "the answer was cut short"
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    text = str(err)
    return text if text and "://" not in text else type(err).__name__


class AiohttpRequest(BaseRequest):
    """python-telegram-bot's ``request`` for the Bot API on aiohttp: up to ``connections`` kept
    alive; ``timeout`` is each default timeout's, ``read_timeout`` the read's when it differs
    (the long poll's)."""

    USER_AGENT = HTTPXRequest.USER_AGENT

    def __init__(
        self, *, connections: int = CONNECTIONS, timeout: float = 10.0, read_timeout: float | None = None
    ):
        self.connections = connections
        self.timeout = timeout
        self._read_timeout = timeout if read_timeout is None else read_timeout
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self._told: dict[str, tuple[float, int]] = {}  # kind of unknown outcome → (logged at, since)
        self._proxies: dict[tuple[str, str], str | None] = {}  # (scheme, host) → its proxy

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is not None and not self._session.closed:
            return
        connector = aiohttp.TCPConnector(limit=self.connections, keepalive_timeout=IDLE_EXPIRY)
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),  # the Bot API sets none: no jar to look up each call
        )
        self._slots = asyncio.Semaphore(self.connections)

    async def shutdown(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

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
        if self._session is None or self._slots is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        timeout = self._timeout(
            _value(connect_timeout, self.timeout), _value(read_timeout, self._read_timeout)
        )
        body, headers = _body(request_data)
        if self._slots.locked():  # every connection busy: wait for one, up to the pool timeout
            try:
                async with asyncio.timeout(_value(pool_timeout, self.timeout)):
                    await self._slots.acquire()
            except TimeoutError as err:
                raise TimedOut("Pool timeout: every connection to the Bot API is busy") from err
        else:
            await self._slots.acquire()
        try:
            return await self._call(method, url, body, headers, timeout)
        finally:
            self._slots.release()

    async def _call(
        self, method: str, url: str, body: Any, headers: dict[str, str] | None, timeout: aiohttp.ClientTimeout
    ) -> tuple[int, bytes]:
        assert self._session is not None
        try:
            async with self._session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=timeout,
                allow_redirects=False,
                proxy=self._proxy(url),
            ) as answer:
                return answer.status, await answer.read()
        except aiohttp.ConnectionTimeoutError as err:  # nothing was written
            raise TimedOut(f"Connecting to the Bot API: no answer within {timeout.sock_connect:g} s") from err
        except aiohttp.ClientConnectorError as err:
            raise NetworkError(f"Connecting to the Bot API: {_reason(err)}") from err
        except (aiohttp.SocketTimeoutError, TimeoutError) as err:
            raise self._unknown(url, f"no answer within {timeout.sock_read:g} s") from err
        except aiohttp.ClientError as err:
            raise self._unknown(url, f"Bot API connection lost: {_reason(err)}") from err

    @staticmethod
    @functools.lru_cache(maxsize=16)
    def _timeout(connect: float | None, read: float | None) -> aiohttp.ClientTimeout:
        """The timeouts of a call (a few distinct ones: made once each)."""
        return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read)

    def _proxy(self, url: str) -> str | None:
        """The environment's proxy for this URL's host, if any (read once a host)."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            proxies = urllib.request.getproxies()
            proxy = proxies.get(key[0]) or proxies.get("all") or ""
            usable = proxy.startswith(("http://", "https://"))  # aiohttp speaks no SOCKS
            self._proxies[key] = proxy if usable and not urllib.request.proxy_bypass(key[1]) else None
        return self._proxies[key]

    def _unknown(self, url: str, kind: str) -> UnknownOutcome:
        """The error for a call written and never answered, and its line in the log: the first
        of each kind in ``QUIET`` seconds (with how many came since the last line), not each."""
        now = time.monotonic()
        logged, since = self._told.get(kind, (float("-inf"), 0))
        if now - logged >= QUIET:
            more = f"; {since} more since the last such line" if since else ""
            method = url.rsplit("/", 1)[-1].split("?")[0]  # never the rest: the token is in it
            log.warning(
                "Bot API %s: unknown outcome (%s): it may have reached Telegram%s", method, kind, more
            )
            self._told[kind] = (now, 0)
        else:
            self._told[kind] = (logged, since + 1)
        return UnknownOutcome(kind)


def _body(request_data: RequestData | None) -> tuple[Any, dict[str, str] | None]:
    """The request's body and its headers: JSON without files, multipart form data with them."""
    if request_data is None:
        return None, None
    if not request_data.contains_files:
        return json.dumps(request_data.parameters, ensure_ascii=False).encode(), JSON
    form = aiohttp.FormData(quote_fields=False)
    for name, value in request_data.json_parameters.items():  # the other parameters, as strings
        form.add_field(name, value)
    for name, (filename, content, mimetype) in request_data.multipart_data.items():  # the files
        form.add_field(name, content, filename=filename, content_type=mimetype)
    return form, None
