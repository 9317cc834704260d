"""Command line: ``tic-alert check`` (the newest release at a glance), ``poll`` (watch for releases),
``calendar`` (the next release dates)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from bot import __version__
from bot.config import load_settings
from bot.errors import TicAlertError
from bot.fetch import fetch, make_session
from bot.load import fetch_all, panel_from_bytes, read_dir
from bot.summary import build_summary, format_text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tic-alert", description=__doc__)
    parser.add_argument("--version", action="version", version=f"tic-alert {__version__}")
    parser.add_argument("--config", metavar="PATH", help="a TOML file laid over the defaults")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="print the newest TIC release at a glance")
    where = check.add_mutually_exclusive_group()
    where.add_argument(
        "--data-dir", metavar="DIR", type=Path, help="read the Treasury files from DIR instead of the network"
    )
    where.add_argument(
        "--source-url", metavar="URL", help="fetch the files from URL (default: the Treasury's Documents URL)"
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--top", type=int, default=10, metavar="N", help="how many top holders to list (default 10)"
    )
    check.set_defaults(func=cmd_check)
    poll = sub.add_parser("poll", help="watch the Treasury for new TIC releases (Ctrl-C stops)")
    poll.add_argument("--once", action="store_true", help="poll once and print what was found")
    poll.add_argument("--source-url", metavar="URL", help="poll URL instead of the Treasury's Documents URL")
    poll.set_defaults(func=cmd_poll)
    cal = sub.add_parser("calendar", help="print the next TIC release dates in ET and UTC")
    cal.add_argument("--count", type=int, default=6, metavar="N", help="how many releases (default 6)")
    cal.add_argument(
        "--from",
        dest="start",
        metavar="YYYY-MM-DD",
        type=dt.date.fromisoformat,
        help="list from this day (default: now)",
    )
    cal.set_defaults(func=cmd_calendar)
    return parser


def cmd_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    if args.data_dir:
        files = read_dir(args.data_dir)
    else:
        base = args.source_url or settings.source_url
        base = base if base.endswith("/") else base + "/"
        session = make_session(settings.user_agent)
        get = partial(fetch, session, timeout=settings.timeout_seconds, max_bytes=settings.max_body_bytes)
        files = fetch_all(lambda url: get(url), base)
    panel = panel_from_bytes(files, settings.groups)
    summary = build_summary(panel, top=args.top)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_text(summary))
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    from bot.poller import ERROR, Poller, http_fetcher, run_forever
    from bot.store import Store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(args.config)
    ps = settings.poller
    session = make_session(settings.user_agent, ps.retries, ps.retry_backoff_factor)
    store = Store(settings.db_path)
    poller = Poller(
        store,
        http_fetcher(session, settings.timeout_seconds, settings.max_body_bytes),
        args.source_url or settings.source_url,
        ps,
        ps.calendar(),
        build_panel=lambda files: panel_from_bytes(files, settings.groups),
    )
    try:
        if args.once:
            result = poller.poll()
            print(result.message)
            if result.release is not None:
                print(f"release {result.release.describe()}")
            return 1 if result.outcome == ERROR else 0
        run_forever(poller, ps.tick_seconds)
        return 0
    finally:
        store.close()


def cmd_calendar(args: argparse.Namespace) -> int:
    from bot.calendar import next_slots, release_moment

    settings = load_settings(args.config)
    cal = settings.poller.calendar()
    now = dt.datetime.combine(args.start, dt.time(), cal.tz) if args.start else dt.datetime.now(dt.UTC)
    print(
        f"Next TIC releases (data month in brackets); window {settings.poller.window_start:%H:%M}-"
        f"{settings.poller.window_end:%H:%M} ET"
    )
    for slot in next_slots(cal, now, args.count):
        first, last = release_moment(cal, slot.days[0]), release_moment(cal, slot.days[-1])
        when = f"{first:%a %Y-%m-%d}" if first == last else f"{first:%a %Y-%m-%d} .. {last:%a %Y-%m-%d}"
        utc = first.astimezone(dt.UTC)
        kind = (
            "official"
            if slot.official
            else (f"estimated: business day {cal.fallback_business_day} + 0..{cal.fallback_extra_days}")
        )
        print(f"  {when:<34} {first:%H:%M %Z} = {utc:%H:%M} UTC  [{slot.data_month}]  {kind}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: errors are one line on stderr and a non-zero exit, never a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except TicAlertError as err:
        print(f"tic-alert: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except OSError as err:
        print(f"tic-alert: error: {err}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug: still one line, with what it was
        print(f"tic-alert: internal error: {type(err).__name__}: {err}", file=sys.stderr)
        return 70
