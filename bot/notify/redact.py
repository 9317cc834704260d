"""Keeping the bot token out of every log line: it is part of every Bot API URL."""

from __future__ import annotations

import logging


def silence_http_logs() -> None:
    """httpx logs every request URL at INFO, and the URL holds the token: keep those loggers quiet."""
    for name in ("httpx", "httpcore", "hpack"):
        logging.getLogger(name).setLevel(logging.WARNING)


def redact_in_logs(secret: str) -> None:
    """No log record, from any library, carries ``secret``: it is replaced as the record is made.

    python-telegram-bot logs its Bot API URL (token included) at DEBUG and httpx every request
    URL at INFO; a record factory catches those and anything else, whatever the handlers.
    """
    if not secret:
        return
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts", None) == secret:
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return record
        if secret in text:
            record.msg, record.args = text.replace(secret, "<token>"), None
        if record.exc_info and record.exc_info[0] is not None:  # a traceback can quote it too
            trace = logging.Formatter().formatException(record.exc_info)
            if secret in trace:
                record.exc_info, record.exc_text = None, trace.replace(secret, "<token>")
        return record

    factory.redacts = secret  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
