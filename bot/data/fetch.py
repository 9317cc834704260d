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


def fetch(session: requests.Session, url: str, timeout: float, max_bytes: int) -> bytes:
    """GET one file unconditionally; any failure (network, status, oversize body) is a FetchError."""
    result = fetch_conditional(session, url, timeout, max_bytes)
    assert result.body is not None  # no validators sent, so never a 304
    return result.body


def fetch_conditional(
    session: requests.Session,
    url: str,
    timeout: float,
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
        raise FetchError(f"{url}: timed out after {timeout:g} s ({type(err).__name__})", "timeout") from err
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
