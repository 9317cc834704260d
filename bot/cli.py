"""Command line: ``tic-alert check`` (the newest release at a glance), ``backtest`` (what the rules
would have fired since 2000), ``poll`` (watch for releases), ``calendar`` (the next release dates),
``serve`` (the Telegram bot), ``run`` (the poller and the bot in one process), and the operator's
``outbox`` (the deliveries by state), ``config`` (``config check``: the effective configuration,
validated), ``backup`` (a consistent copy of the database), ``prune`` (old releases' rows) and
``rehearse`` (a release's alert delivered to a few chats, marked as a rehearsal)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

from bot import __version__
from bot.arguments import EPILOG, common_options, count_arg, day_arg, month_arg, positive_arg
from bot.config import load_settings
from bot.data.fetch import fetch, make_session
from bot.data.load import fetch_all, panel_from_bytes, read_dir
from bot.data.parse import PARSERS
from bot.data.sources import RELEASE_FILES
from bot.errors import ConfigError, FetchError, TicAlertError
from bot.logs import setup_logging
from bot.masking import mask
from bot.ops import add_operator_commands
from bot.render.stories import TOLD
from bot.render.summary import build_summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tic-alert", description=__doc__, epilog=EPILOG, parents=[common_options(True)]
    )
    parser.add_argument("--version", action="version", version=f"tic-alert {__version__}")
    common = common_options(False)
    sub = parser.add_subparsers(dest="command", required=True)
    add = partial(sub.add_parser, parents=[common])
    check = add("check", help="print the newest TIC release at a glance")
    where = check.add_mutually_exclusive_group()
    where.add_argument(
        "--data-dir", metavar="DIR", type=Path, help="read the Treasury files from DIR instead of the network"
    )
    where.add_argument(
        "--source-url", metavar="URL", help="fetch the files from URL (default: the Treasury's Documents URL)"
    )
    check.add_argument(
        "--all-files",
        action="store_true",
        help="with --data-dir: read every Treasury file tic-alert can parse (also the legacy mfh.txt),"
        " not only the release's files",
    )
    check.add_argument("--json", action="store_true", help="print one JSON object")
    check.add_argument(
        "--verbose",
        action="store_true",
        help=f"every story (not only the {TOLD} rarest), and the files read and vintage conflicts (operator)",
    )
    check.add_argument(
        "--top", type=positive_arg, default=10, metavar="N", help="how many top holders to list (default 10)"
    )
    check.add_argument(
        "--chart",
        metavar="OUT.png",
        type=Path,
        help="write the release's main chart to OUT.png and the 3-month changes to OUT-changes.png",
    )
    check.set_defaults(func=cmd_check)
    back = add("backtest", help="replay history: every event the rules would have fired")
    back.add_argument("--data-dir", metavar="DIR", type=Path, required=True, help="the Treasury files")
    back.add_argument("--rule", metavar="ID", action="append", help="only this rule (repeatable)")
    back.add_argument(
        "--from", dest="start", type=month_arg, metavar="YYYY-MM", help="first data month (default 2000-01)"
    )
    back.add_argument(
        "--to", dest="end", type=month_arg, metavar="YYYY-MM", help="last data month (default: the newest)"
    )
    back.add_argument(
        "--set",
        metavar="RULE=VALUE",
        action="append",
        default=[],
        help="a subscriber's threshold for a rule ('off': off; RULE.floor=V: its $bn floor); repeatable",
    )
    back.add_argument("--csv", action="store_true", help="print CSV instead of text")
    back.set_defaults(func=cmd_backtest)
    poll = add("poll", help="watch the Treasury for new TIC releases (Ctrl-C stops)")
    poll.add_argument("--once", action="store_true", help="poll once and print what was found")
    poll.add_argument("--source-url", metavar="URL", help="poll URL instead of the Treasury's Documents URL")
    poll.set_defaults(func=cmd_poll)
    cal = add("calendar", help="print the next TIC release dates in ET and UTC")
    cal.add_argument(
        "--count", type=count_arg, default=6, metavar="N", help="how many releases, 1..120 (default 6)"
    )
    cal.add_argument(
        "--from",
        dest="start",
        metavar="YYYY-MM-DD",
        type=day_arg,
        help="list from this day (default: now)",
    )
    cal.set_defaults(func=cmd_calendar)
    srv = add("serve", help="run the Telegram bot (long polling; Ctrl-C stops)")
    srv.add_argument("--data-dir", type=Path, help="serve the release in this folder of Treasury files")
    srv.add_argument("--source-url", help="fetch the files from this base URL when the database holds none")
    srv.set_defaults(func=cmd_serve)
    run = add("run", help="the poller and the bot in one process (Ctrl-C or SIGTERM stops)")
    run.add_argument(
        "--data-dir", type=Path, help="answer commands from this folder until a release is polled"
    )
    run.add_argument("--source-url", help="poll this base URL instead of the Treasury's")
    run.set_defaults(func=cmd_serve)
    add_operator_commands(add, month_arg)
    return parser


def cmd_check(args: argparse.Namespace) -> int:
    from bot.render.charts import release_charts
    from bot.render.export import event_dict
    from bot.render.text import render_text
    from bot.rules.release import evaluate

    settings = load_settings(args.config)
    rules = settings.rules()  # a bad rule file fails here, before any fetch
    if args.all_files and not args.data_dir:
        raise TicAlertError("check: --all-files reads a folder: give --data-dir DIR")
    if args.data_dir:
        files = read_dir(args.data_dir, PARSERS if args.all_files else RELEASE_FILES)
    else:
        base = args.source_url or settings.source_url
        session = make_session(settings.user_agent)
        get = partial(fetch, session, timeout=settings.timeout_seconds, max_bytes=settings.max_body_bytes)
        try:
            files = fetch_all(lambda url: get(url), base)
        except FetchError as err:
            raise _offline_hint(err, base) from None
    panel = panel_from_bytes(files, settings.groups)
    summary = build_summary(panel, top=args.top)
    events = evaluate(panel, rules)
    if args.chart:
        main_png, bars_png = release_charts(panel, summary, events)
        bars_path = args.chart.with_name(f"{args.chart.stem}-changes{args.chart.suffix or '.png'}")
        args.chart.write_bytes(main_png)
        bars_path.write_bytes(bars_png)
        print(f"charts: {args.chart} {bars_path}", file=sys.stderr)
    if args.json:
        print(json.dumps({**summary.to_dict(), "events": [event_dict(e) for e in events]}, indent=2))
    else:
        print(render_text(summary, events, verbose=args.verbose))
    return 0


def _offline_hint(err: FetchError, base: str) -> TicAlertError:
    """A network failure as one short line that says what to do without a network."""
    if err.kind not in ("connection", "timeout", "network"):
        return err
    host = urlsplit(base).hostname or base
    cause = re.search(r"\[Errno [^\]]*\] ([^)\"']+)", str(err))
    why = cause.group(1).strip() if cause else ("timed out" if err.kind == "timeout" else err.kind + " error")
    return TicAlertError(
        f"cannot reach {host} ({why}); no network? try --data-dir DIR (a folder of Treasury files)"
    )


def cmd_backtest(args: argparse.Namespace) -> int:
    from bot.render.export import to_csv
    from bot.render.text import backtest_text
    from bot.rules.backtest import backtest
    from bot.rules.overrides import parse_settings

    settings = load_settings(args.config)
    rules = settings.rules()
    if args.rule:
        known = {r.id for r in rules}
        unknown = [r for r in args.rule if r not in known]
        if unknown:
            raise TicAlertError(f"backtest: no rule {unknown[0]!r} (rules: {', '.join(sorted(known))})")
        # a named rule is replayed even if it is off by default
        rules = tuple(replace(r, enabled=True) for r in rules if r.id in args.rule)
    try:
        overrides = parse_settings(args.set)
    except ValueError as err:
        raise TicAlertError(f"backtest: {err}") from None
    panel = panel_from_bytes(read_dir(args.data_dir), settings.groups)
    events = backtest(panel, rules, args.start, args.end, overrides)
    if args.csv:
        sys.stdout.write(to_csv(events))
        return 0
    print(backtest_text(events, args.start or "2000-01", args.end or str(panel.latest())))
    return 0


def cmd_poll(args: argparse.Namespace) -> int:
    from bot.heap import limit_arenas
    from bot.store.state import Store
    from bot.telemetry import Telemetry
    from bot.watch.observe import PollWatch
    from bot.watch.outcomes import PollOutcome
    from bot.wiring import banner, build_poller, keep_polling, status_endpoints

    settings = load_settings(args.config)
    rules = settings.rules()
    limit_arenas()
    store = Store(settings.db_path)
    telemetry = Telemetry()
    watch = PollWatch(telemetry, settings.poller.calendar())
    poller = build_poller(settings, store, rules, args.source_url, watch=watch)
    status = None
    try:
        if args.once:
            result = poller.poll()
            print(result.message)
            if result.release is not None:
                print(f"release {result.release.describe()}")
            return 1 if result.outcome == PollOutcome.ERROR else 0
        status = status_endpoints(settings, telemetry, bot=False)
        banner(settings, "poll", "poller", status)
        keep_polling(settings, store, poller, watch)
        return 0
    finally:
        store.close()
        if status is not None:
            status.stop()


def cmd_calendar(args: argparse.Namespace) -> int:
    from bot.watch.calendar import next_slots, release_moment

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


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.wiring import run_bot

    load = partial(load_settings, args.config)
    run_bot(load(), args.data_dir, args.source_url, with_poller=args.command == "run", load=load)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: errors are one line on stderr and a non-zero exit, never a traceback."""
    args = build_parser().parse_args(argv)
    try:
        _logging(args)
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `tic-alert backtest ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no complaint at exit either
        return 141
    except ConfigError as err:  # every section's refusal in one wording: "[section] key = value: …"
        print(f"tic-alert: config error: {mask(str(err))}", file=sys.stderr)
        return 2
    except (TicAlertError, OSError) as err:
        print(f"tic-alert: error: {mask(str(err))}", file=sys.stderr)
        return 2
    except Exception as err:  # a bug: still one line, with what it was
        print(f"tic-alert: internal error: {type(err).__name__}: {mask(str(err))}", file=sys.stderr)
        return 70


def _logging(args: argparse.Namespace) -> None:
    """Level and format from the options, else the environment; secrets masked in every record."""
    from bot.notify.redact import redact_in_logs

    redact_in_logs(os.environ.get("TIC_ALERT_BOT_TOKEN", ""))
    level = args.log_level or os.environ.get("TIC_ALERT_LOG_LEVEL")
    fmt = args.log_format or os.environ.get("TIC_ALERT_LOG_FORMAT") or "text"
    if level or args.command in ("poll", "serve", "run"):  # the others print their own answers
        setup_logging(level or "info", fmt)
