"""The libraries' log lines fit to read: the bot token (it is part of every Bot API URL) and every
password out of every one, and a proxy's error page one line, not a page and a traceback."""

from __future__ import annotations

import logging

from bot.masking import mask, remember
from bot.notify.outbound.verdicts import page_gist

INVALID_JSON = "Can not load invalid JSON data"  # python-telegram-bot's words, with the whole body


def silence_http_logs() -> None:
    """httpx logs every request URL at INFO, and the URL holds the token: keep those loggers
    quiet. python-telegram-bot logs an answer that is not JSON (nginx's HTML 502 page in front of
    the Bot API) as an ERROR with the page and a traceback, then raises a NetworkError that the
    caller handles and logs: that record becomes one line (:class:`OneLinePage`)."""
    for name in ("httpx", "httpcore", "hpack"):
        logging.getLogger(name).setLevel(logging.WARNING)
    request_log = logging.getLogger("telegram.request.BaseRequest")
    if not any(isinstance(f, OneLinePage) for f in request_log.filters):
        request_log.addFilter(OneLinePage())


class OneLinePage(logging.Filter):
    """PTB's "Can not load invalid JSON data: <the page>" record → one WARNING line naming the
    page by its title (or first words), without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith(INVALID_JSON):
            body = str(record.args[0]) if isinstance(record.args, tuple) and record.args else ""
            record.msg = "the Bot API answered a page, not JSON (%r): taken as a network error"
            record.args = (page_gist(body),)
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
        return True


def redact_in_logs(secret: str = "") -> None:
    """No log record, from any library, carries a secret: :func:`bot.masking.mask` is applied as
    the record is made (``secret``, the bot token, is remembered for it).

    python-telegram-bot logs its Bot API URL (token included) at DEBUG and httpx every request
    URL at INFO; psycopg's pool may quote the database's address. A record factory catches those
    and anything else, whatever the handlers; it is installed once.
    """
    if secret:
        remember(secret)
    previous = logging.getLogRecordFactory()
    if getattr(previous, "masks", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            text = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return record
        masked = mask(text)
        if masked != text:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[0] is not None:  # a traceback can quote it too
            trace = logging.Formatter().formatException(record.exc_info)
            masked = mask(trace)
            if masked != trace:
                record.exc_info, record.exc_text = None, masked
        return record

    factory.masks = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
