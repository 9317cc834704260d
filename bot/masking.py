"""Secrets out of everything tic-alert shows: one function, :func:`mask`, used wherever a database
URL, an error or a log record is shown (``config check``, ``outbox``, the CLI's error line, the log
record factory of :mod:`bot.notify.redact`, /readyz).

It masks, in any text:

* a URL's ``user:password@`` (any scheme; everything up to the last ``@`` before the path's query);
* a ``password=`` parameter, in a URL's query (``?password=``, ``&password=``, the key
  percent-encoded too: libpq decodes it) or a libpq ``key=value`` string (``password='a b'``), and
  likewise ``sslpassword=``;
* the values of the secrets in the environment (:data:`SECRET_VARIABLES`: the bot token and libpq's
  ``PGPASSWORD``) and of those passed to :func:`remember` (the passwords of the configured database
  URL, so a library that quotes one, raw or decoded, is masked too: :func:`remember_url`).

A secret shorter than :data:`SHORTEST` characters is masked where it stands in a URL or a
``password=``, not wherever its characters happen to appear.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from urllib.parse import unquote

MASK = "****"
SECRET_VARIABLES = ("TIC_ALERT_BOT_TOKEN", "PGPASSWORD")
SHORTEST = 4
_remembered: set[str] = set()

# scheme://user:  then the password: anything but whitespace, ?, # up to the last @ before them
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:)(?P<secret>[^\s?#]*)@")
# key=value after the start, ?, &, ; or a space; the value quoted (libpq) or up to & # space or
# quote, a colon just before those left out ("…?password=x: cannot open" keeps its colon)
_PARAMETER = re.compile(
    r"""(?P<head>(?:^|[?&;\s])(?P<key>[\w%.-]+)\s*=\s*)"""
    r"""(?P<secret>'(?:[^'\\]|\\.)*'|[^&#\s'"]*?)(?=:?(?:[&#\s'"]|$))"""
)


def mask(text: str, env: Mapping[str, str] | None = None) -> str:
    """``text`` with every password and token in it replaced by ``****``."""
    env = os.environ if env is None else env
    known = {*_remembered, *(env.get(name, "") for name in SECRET_VARIABLES)}
    for secret in sorted((s for s in known if len(s) >= SHORTEST), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _USERINFO.sub(lambda m: m["head"] + MASK + "@", text)
    return _PARAMETER.sub(_masked_parameter, text)


def _masked_parameter(m: re.Match[str]) -> str:
    return m["head"] + MASK if _is_password(m["key"]) else m[0]


def _is_password(key: str) -> bool:
    return unquote(key).lower().endswith("password")


def remember(secret: str) -> None:
    """Mask ``secret`` (a token handed over in code, not the environment) wherever it appears."""
    _remembered.add(secret)


def remember_url(url: str) -> None:
    """Mask the passwords in ``url`` (the database's) wherever they appear, raw or decoded: its
    ``user:password@`` and its query's ``password=`` values, up to ``&`` (spaces and all)."""
    rest = url.partition("://")[2]
    authority, _, query = re.split(r"[?#]", rest, maxsplit=1)[0], "", url.partition("?")[2]
    found = [authority.rpartition("@")[0].partition(":")[2]] if "@" in authority else []
    for part in query.partition("#")[0].split("&"):
        key, _, value = part.partition("=")
        if _is_password(key):
            found.append(value)
    _remembered.update(s for p in found for s in (p, unquote(p)) if s)
