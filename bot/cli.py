"""Command line: ``tic-alert check`` (the newest release at a glance)."""

from __future__ import annotations

import argparse
import json
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
