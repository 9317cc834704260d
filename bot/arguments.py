"""The command line's argument types, and the options every command takes (before or after it)."""

from __future__ import annotations

import argparse
import datetime as dt
import re

from bot.logs import FORMATS, LEVELS


def positive_arg(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, found {text!r}")
    return int(text)


def month_arg(text: str) -> str:
    """argparse type: a month as YYYY-MM."""

    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        raise argparse.ArgumentTypeError(f"expected a month as YYYY-MM, found {text!r}")
    return text


def count_arg(text: str) -> int:
    """argparse type: how many releases to list, 1..120 (ten years)."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_COUNT:
        raise argparse.ArgumentTypeError(f"expected a whole number 1..{MAX_COUNT}, found {text!r}")
    return int(text)


def day_arg(text: str) -> dt.date:
    """argparse type: a day as YYYY-MM-DD, years 1990..2999 (the calendar needs room after it)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, found {text!r}") from None
    if not 1990 <= day.year <= 2999:
        raise argparse.ArgumentTypeError(f"expected a year 1990..2999, found {text!r}")
    return day


MAX_COUNT = 120


EPILOG = (
    "The state (releases, file versions, subscribers, the outbox) is one SQLite file: by default"
    " ~/.local/share/tic-alert/tic-alert.db ([store] db_path; TIC_ALERT_DB overrides), or a"
    " PostgreSQL database: TIC_ALERT_DB=postgresql://USER@HOST:PORT/DATABASE."
)


def common_options(top: bool) -> argparse.ArgumentParser:
    """Options taken before or after the command (``tic-alert --log-level debug run`` or
    ``tic-alert run --log-level debug``); after it they only override what was given."""
    common = argparse.ArgumentParser(add_help=False)
    default = None if top else argparse.SUPPRESS
    common.add_argument(
        "--config", metavar="PATH", default=default, help="a TOML file laid over the defaults"
    )
    common.add_argument(
        "--log-level",
        choices=LEVELS,
        type=str.lower,
        default=default,
        help="debug, info, warning, ... (TIC_ALERT_LOG_LEVEL; default info for poll, serve and run)",
    )
    common.add_argument(
        "--log-format",
        choices=FORMATS,
        type=str.lower,
        default=default,
        help="text or json, one object a line for log shippers (TIC_ALERT_LOG_FORMAT; default text)",
    )
    return common
