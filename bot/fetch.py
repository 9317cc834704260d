"""The network edge: fetch Treasury files over HTTP with a size limit. The session is passed in."""

from __future__ import annotations

import requests

from bot.errors import FetchError


def make_session(user_agent: str) -> requests.Session:
    """A session that names the project in its User-Agent."""
    session = requests.Session()
    session.headers["User-Agent"] = user_agent
    return session


def fetch(session: requests.Session, url: str, timeout: float, max_bytes: int) -> bytes:
    """GET one file; any failure (network, status, oversize body) is a FetchError."""
    try:
        with session.get(url, timeout=timeout, stream=True) as resp:
            if resp.status_code != 200:
                raise FetchError(f"{url}: HTTP {resp.status_code} {resp.reason}")
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"{url}: body of {declared} bytes is over the {max_bytes} limit")
            body = bytearray()
            for chunk in resp.iter_content(chunk_size=65536):
                body += chunk
                if len(body) > max_bytes:
                    raise FetchError(f"{url}: body is over the {max_bytes} byte limit")
            if declared and declared.isdigit() and len(body) != int(declared):
                raise FetchError(f"{url}: truncated body ({len(body)} of {declared} bytes)")
            return bytes(body)
    except requests.RequestException as err:
        raise FetchError(f"{url}: {type(err).__name__}: {err}") from err
