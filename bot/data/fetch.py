"""The network edge: fetch Treasury files over HTTP, politely. The session is passed in.

* :func:`make_session` names the project in the User-Agent and mounts an ``HTTPAdapter`` whose
  urllib3 ``Retry`` retries connection errors, read timeouts and 429/5xx answers with
  exponential backoff (honouring ``Retry-After``), so no caller writes its own retry loop.
* :func:`fetch_conditional` sends the validators of the copy we hold (``If-None-Match`` from
  its ETag, ``If-Modified-Since`` from its Last-Modified); a 304 comes back with no body.
* Every body is read in chunks against a size limit and checked against its Content-Length.
  Any failure is a :class:`~bot.errors.FetchError` whose ``kind`` names the cause.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from bot.errors import FetchError

RETRY_STATUSES = (429, 500, 502, 503, 504)


def make_session(
    user_agent: str, retries: int = 3, backoff_factor: float = 0.5, backoff_max: float = 30.0
) -> requests.Session:
    """A session that names the project in its User-Agent and retries transient failures."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        allowed_methods=frozenset({"GET", "HEAD"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        backoff_max=backoff_max,
        # a server's Retry-After could block the single-threaded poller for hours; the poller
        # backs off on its own schedule instead
        respect_retry_after_header=False,
        raise_on_status=False,  # the last answer comes back and becomes a FetchError below
        raise_on_redirect=False,
    )
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@dataclass(frozen=True)
class RequestBudget:
    """Connect/read timeouts and retries that keep one request, retries and backoff included,
    within a time budget (the in-window poll interval: a timed-out poll must not delay the next)."""

    connect: float
    read: float
    retries: int

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect, self.read)

    def worst_case(self, backoff_factor: float, backoff_max: float = 30.0) -> float:
        """Seconds one request can take when every attempt times out."""
        return (self.retries + 1) * (self.connect + self.read) + _backoff(
            self.retries, backoff_factor, backoff_max
        )


MIN_ATTEMPT = 4.0  # seconds: a slow first byte from the Treasury is not a failure


def _backoff(retries: int, factor: float, cap: float) -> float:
    """urllib3's total sleep over ``retries`` retries: factor × 2^(n-1), capped, none before the first."""
    return sum(min(cap, factor * 2 ** (n - 1)) for n in range(2, retries + 1))


def request_budget(
    budget: float, timeout: float, retries: int, backoff_factor: float, backoff_max: float = 30.0
) -> RequestBudget:
    """Timeouts (at most ``timeout``) and retries (at most ``retries``) that fit in ``budget`` seconds.

    Three quarters of the budget go to the attempts (the rest is slack for the poll's own work);
    each attempt gets a quarter of its share to connect and the rest to read. Retries are dropped
    while an attempt would get under MIN_ATTEMPT seconds (the next poll is a retry too); the floor
    is one attempt of 0.25 + 0.75 s.
    """
    usable = 0.75 * budget
    while True:
        share = (usable - _backoff(retries, backoff_factor, backoff_max)) / (retries + 1)
        if share >= MIN_ATTEMPT or retries == 0:
            share = max(share, 1.0)
            return RequestBudget(min(timeout, 0.25 * share), min(timeout, 0.75 * share), retries)
        retries -= 1


@dataclass(frozen=True)
class FetchResult:
    """One answer: 200 with a body, or 304 (``body`` is None) when our copy is current."""

    url: str
    status: int
    body: bytes | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def fetch(session: requests.Session, url: str, timeout: float | tuple[float, float], max_bytes: int) -> bytes:
    """GET one file unconditionally; any failure (network, status, oversize body) is a FetchError."""
    result = fetch_conditional(session, url, timeout, max_bytes)
    assert result.body is not None  # no validators sent, so never a 304
    return result.body


def fetch_conditional(
    session: requests.Session,
    url: str,
    timeout: float | tuple[float, float],
    max_bytes: int,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """GET one file, sending the validators of the copy we hold; 304 → a result without body."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with session.get(url, timeout=timeout, stream=True, headers=headers) as resp:
            if resp.status_code == 304 and headers:
                return FetchResult(
                    url,
                    304,
                    None,
                    resp.headers.get("ETag") or etag,
                    resp.headers.get("Last-Modified") or last_modified,
                )
            if resp.status_code != 200:
                raise FetchError(f"{url}: HTTP {resp.status_code} {resp.reason}", "status", resp.status_code)
            body = _read_body(resp, url, max_bytes)
            return FetchResult(url, 200, body, resp.headers.get("ETag"), resp.headers.get("Last-Modified"))
    except FetchError:
        raise
    except requests.Timeout as err:
        limit = "/".join(f"{t:g}" for t in timeout) if isinstance(timeout, tuple) else f"{timeout:g}"
        raise FetchError(f"{url}: timed out after {limit} s ({type(err).__name__})", "timeout") from err
    except requests.exceptions.ChunkedEncodingError as err:
        raise FetchError(f"{url}: truncated body ({err})", "truncated") from err
    except requests.ConnectionError as err:
        kind = "timeout" if "timed out" in str(err).lower() else "connection"
        raise FetchError(f"{url}: {type(err).__name__}: {err}", kind) from err
    except requests.RequestException as err:
        raise FetchError(f"{url}: {type(err).__name__}: {err}", "network") from err


def _read_body(resp: requests.Response, url: str, max_bytes: int) -> bytes:
    declared = resp.headers.get("Content-Length")
    length = int(declared) if declared and declared.isdigit() else None
    if length is not None and length > max_bytes:
        raise FetchError(f"{url}: body of {length} bytes is over the {max_bytes} limit", "oversize")
    body = bytearray()
    for chunk in resp.iter_content(chunk_size=65536):
        body += chunk
        if len(body) > max_bytes:
            raise FetchError(f"{url}: body is over the {max_bytes} byte limit", "oversize")
    # A compressed body is decoded by requests, so its length no longer matches the header.
    if length is not None and not resp.headers.get("Content-Encoding") and len(body) != length:
        raise FetchError(f"{url}: truncated body ({len(body)} of {length} bytes)", "truncated")
    return bytes(body)
