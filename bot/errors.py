"""The exceptions tic-alert raises on purpose.

TicAlertError
├── ConfigError   a settings, calendar or rule file is wrong (raised at startup, never at release time)
├── ParseError    a Treasury file is not what its parser expects
├── FetchError    a Treasury file could not be fetched; ``kind`` says how (see FetchError.KINDS)
└── StoreError    the state database cannot be opened, has an unknown layout, or refused a statement
    ├── StoreUnavailable  it cannot take a statement now (busy, disk full, read-only, server gone)
    └── Fenced        another process leads now: this one's sender writes are refused (issue 19)
"""

from __future__ import annotations

import re

# an OS error's own words inside a library's long message: "[Errno 111] Connection refused"
_OS_REASON = re.compile(r"\[Errno -?\d+\] ([^\"')\]]+)")


def brief(text: str, limit: int = 160) -> str:
    """A failure in a few whole words for a log line: the OS's reason when a library's message
    quotes one ("Connection refused", "Name or service not known"), else the text, shortened at
    a word with the count of what was left off (never cut mid-word or mid-quote unannounced)."""
    reason = _OS_REASON.search(text)
    if reason:
        return reason.group(1).strip().rstrip(".")
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    kept = text[:limit].rsplit(" ", 1)[0]
    return f"{kept} … ({len(text) - len(kept)} more characters)"


class TicAlertError(Exception):
    """Base class: every error the CLI reports as one line."""


class ConfigError(TicAlertError):
    """A settings file or environment variable holds a bad value."""


class FetchError(TicAlertError):
    """A file could not be fetched (network, HTTP status, size limit, truncated body).

    ``kind`` is one of :attr:`KINDS`, so the poller can log and count faults by cause.
    """

    KINDS = ("status", "timeout", "connection", "truncated", "oversize", "network")

    def __init__(self, message: str, kind: str = "network", status: int | None = None):
        self.kind = kind
        self.status = status
        super().__init__(message)

    @property
    def reason(self) -> str:
        """Why, in a few words: "HTTP 503 Service Unavailable", "timed out after 30 s (ReadTimeout)",
        "Connection refused"."""
        first, sep, rest = str(self).partition(": ")  # the URL first (every FetchError names one)
        return brief(rest if sep and "://" in first else str(self))


class StoreError(TicAlertError):
    """The state database cannot be opened, was written by an incompatible version, or refused a
    statement (the driver's own error is its ``__cause__``)."""


class StoreUnavailable(StoreError):
    """The database cannot take a statement now: another writer holds the lock, the disk is full,
    it is read-only, an I/O error, the server cannot be reached. Trying again later may work.

    ``reason`` says which in a few words (for a reply or a log line); callers never need to know
    which database (SQLite or PostgreSQL) said it."""

    def __init__(self, message: str, reason: str):
        self.reason = reason
        super().__init__(message)


class Fenced(StoreError):
    """A write of a leader's sender refused because another process took the leadership since
    (its epoch is newer): this process must stop sending and step down."""


class ParseError(TicAlertError):
    """A Treasury file does not have the layout its parser expects.

    Carries the file name, the 1-based line number (None when the problem is the
    file as a whole) and what was expected, so the message tells an operator where to look.
    """

    def __init__(self, file: str, line: int | None, expected: str, found: str | None = None):
        self.file = file
        self.line = line
        self.expected = expected
        self.found = found
        where = f"{file}: line {line}" if line is not None else file
        msg = f"{where}: expected {expected}"
        if found is not None:
            msg += f", found {found!r}" if len(found) <= 80 else f", found {found[:77]!r}..."
        super().__init__(msg)
