"""Log lines for people and for log shippers: UTC ISO-8601 timestamps with their offset, a level
chosen by the operator, and a JSON format (one object a line, with a record's ``extra`` fields).

``--log-level`` / ``TIC_ALERT_LOG_LEVEL`` and ``--log-format`` / ``TIC_ALERT_LOG_FORMAT`` choose;
the CLI calls :func:`setup_logging` once. The bot token never reaches a record (see
``bot.notify.redact``, installed by the CLI before anything logs).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import TextIO

from bot.errors import ConfigError

LEVELS = ("debug", "info", "warning", "error", "critical")
FORMATS = ("text", "json")
# attributes every LogRecord has: anything else on a record came from ``extra=``
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}


def utc_time(record: logging.LogRecord) -> str:
    """2026-06-18T20:00:03.512+00:00"""
    return dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_time(record)


class JsonFormatter(logging.Formatter):
    """{"time": ..., "level": ..., "logger": ..., "message": ..., <extra fields>, "exception": ...}"""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:  # (the redacting record factory may leave only the text)
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """One handler on the root logger (replacing any), at ``level``, in ``fmt``."""
    if level.lower() not in LEVELS:
        raise ConfigError(f"log level: expected one of {', '.join(LEVELS)}, found {level!r}")
    if fmt.lower() not in FORMATS:
        raise ConfigError(f"log format: expected one of {', '.join(FORMATS)}, found {fmt!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt.lower() == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # urllib3 warns of each retry it makes ("Retrying (Retry(total=0, ...)) after connection broken
    # by ..."): the poller's own line says what failed, once a poll; its errors still show
    for noisy in ("urllib3", "urllib3.connectionpool", "requests"):
        logging.getLogger(noisy).setLevel(max(logging.ERROR, root.level))
