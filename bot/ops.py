"""The operator's commands: ``outbox`` (deliveries by state), ``config check`` (the effective
configuration, validated, token masked), ``backup OUT.db`` (a consistent copy of a SQLite file
while the bot runs; PostgreSQL: pg_dump) and ``prune --keep-releases N``. Reading commands never
create a database, its folders or its tables."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bot.config import Settings, load_settings
from bot.errors import ConfigError, StoreError, TicAlertError
from bot.masking import mask
from bot.packaged import toml_text
from bot.settings_schema import refuse
from bot.store.database import Database
from bot.store.db import describe, is_postgres
from bot.store.outbox import Delivery, Outbox

AddParser = Callable[..., argparse.ArgumentParser]


def add_operator_commands(add: AddParser, month: Callable[[str], str]) -> None:
    out = add("outbox", help="deliveries by state for the latest release (or --release YYYY-MM)")
    out.add_argument("--release", type=month)
    out.set_defaults(func=cmd_outbox)
    cfg = add("config", help="config check: validate settings, rules, groups and calendar; print them")
    cfg.add_argument(
        "action", choices=["check"], help="check: validate and print the effective configuration"
    )
    cfg.set_defaults(func=cmd_config_check)
    bak = add("backup", help="copy the database to OUT.db (safe while the bot runs)")
    bak.add_argument("out", metavar="OUT.db", type=Path)
    bak.set_defaults(func=cmd_backup)
    pru = add("prune", help="keep the newest N releases' deliveries, poll log and file versions")
    pru.add_argument("--keep-releases", type=_at_least_one, required=True, metavar="N")
    pru.add_argument("--vacuum", action="store_true", help="then give the freed space back to the disk")
    pru.set_defaults(func=cmd_prune)
    reh = add(
        "rehearse", help="deliver the newest release's alert to --chat (or the admins), marked a rehearsal"
    )
    reh.add_argument("--release", type=month, metavar="YYYY-MM", help="this data month (default: the newest)")
    reh.add_argument("--data-dir", metavar="DIR", type=Path, help="the Treasury files (default: those held)")
    reh.add_argument(
        "--chat", type=int, action="append", metavar="ID", help="a chat id (repeatable; default: the admins)"
    )
    reh.add_argument("--timeout", type=float, default=120.0, metavar="S", help="give up after S seconds")
    reh.set_defaults(func=cmd_rehearse)


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, found {text!r}")
    return int(text)


# a shell's environment is not the service's: its TIC_ALERT_DB is in the unit or the compose file
NOT_THE_SERVICE = (
    "; is it the service's? The service's TIC_ALERT_DB is set in its unit or compose file: run operator"
    " commands in its environment (deploy/tic-alert.service, compose.yaml say how)"
)


def _opened(open_db: Callable[[], Database], cmd: str) -> Database:
    """A read of the database that is not there: a non-zero exit naming where it looked."""
    from bot.store.db import NoDatabase

    try:
        return open_db()
    except NoDatabase as err:
        raise TicAlertError(f"{cmd}: {err}{NOT_THE_SERVICE}") from None


def cmd_outbox(args: argparse.Namespace) -> int:
    from bot.store.db import open_readonly
    from bot.store.outbox import Outbox

    settings = load_settings(args.config)
    conn = _opened(partial(open_readonly, settings.db_path), "outbox")
    try:
        outbox = Outbox(conn)
        release = args.release or outbox.latest_release()
        if release is None:
            print("No deliveries yet.")
            return 0
        counts = outbox.counts(release)
        print(f"Deliveries for release {release}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        for d in outbox.of_release(release):
            if d.state in ("failed", "blocked"):
                print(f"  {d.state:<8} chat {d.chat_id} {d.kind} #{d.id}: {d.detail}")
        return 0
    finally:
        conn.close()


def cmd_rehearse(args: argparse.Namespace) -> int:
    import asyncio
    import datetime as dt

    from telegram.error import TelegramError

    from bot.data.load import only_release_files, panel_from_bytes, read_dir
    from bot.data.sources import HEADLINE
    from bot.notify import rehearsal
    from bot.store.db import connect
    from bot.store.state import Store
    from bot.store.subscribers import Subscribers
    from bot.wiring import token_of

    settings = load_settings(args.config)
    token, rules = token_of(settings), settings.rules()
    chats = args.chat or list(settings.telegram.admins)
    if not chats:
        raise TicAlertError("rehearse: no chat: give --chat ID or set [telegram] admins (TIC_ALERT_ADMINS)")
    if args.data_dir is None:  # the held files: the service's database, never a new one
        _opened(partial(connect, settings.db_path, create=False), "rehearse").close()
    store = Store(settings.db_path)
    try:
        files = read_dir(args.data_dir) if args.data_dir else only_release_files(store.held_bodies())
        if HEADLINE not in files:
            raise TicAlertError(f"rehearse: no release held in {describe(settings.db_path)}: give --data-dir")
        panel = panel_from_bytes(files, settings.groups)
        if args.release and args.release > str(panel.latest()):
            raise TicAlertError(f"rehearse: the files hold data up to {panel.latest()}, not {args.release}")
        now = dt.datetime.now(dt.UTC)
        subs = Subscribers(store.conn)
        plan = rehearsal.compose(panel, rules, settings.groups, chats, subs, month=args.release, now=now)
        outbox = rehearsal.own_outbox(store.conn, plan.release)
        plan.queue(outbox, now=now)
        print(f"rehearsal {plan.release}: {len(plan.rows)} alert(s) for {plan.month} queued", flush=True)
        done = rehearsal.deliver(token, settings.telegram, outbox, plan.release, args.timeout)
        try:
            rows, failure = asyncio.run(done)
        except TelegramError as err:  # the Bot API refused the token, or never answered getMe
            rows, failure = outbox.of_release(plan.release), f"the Bot API: {err}"
        return _rehearsed(outbox, rows, failure, args.timeout)
    finally:
        store.close()


def _rehearsed(outbox: Outbox, rows: list[Delivery], failure: str, timeout: float) -> int:
    """One line per chat; rows still unsent after the timeout are given up (not sent later)."""
    import datetime as dt

    from bot.store.outbox import DeliveryState

    ok = bool(rows)
    for row in rows:
        state, detail = row.state, row.detail
        if state in (DeliveryState.PENDING, DeliveryState.SENDING):
            detail = f"not sent within {timeout:g} s" + (
                f" (last: {failure or detail})" if failure or detail else ""
            )
            with outbox.conn:
                outbox.set_state(row.id, DeliveryState.FAILED, now=dt.datetime.now(dt.UTC), detail=detail)
            state = DeliveryState.FAILED
        ok = ok and state == DeliveryState.SENT
        what = f"{len(row.sent_ids)} message(s)" if state == DeliveryState.SENT else detail
        print(f"  chat {row.chat_id}: {state} {what}".rstrip())
    return 0 if ok else 1


def cmd_config_check(args: argparse.Namespace) -> int:
    import datetime as dt

    from bot.config import operator_rule_fields
    from bot.rules.catalogue import load_rules
    from bot.rules.in_force import in_force
    from bot.watch.calendar import next_slots

    settings = load_settings(args.config)  # settings and groups: a bad key fails here, named
    rules = settings.rules()
    calendar = settings.poller.calendar()
    database = _db_state(settings)  # one it would use but cannot open fails here, named
    nxt = next_slots(calendar, dt.datetime.now(dt.UTC), 1)[0]
    shipped = {r.id: r for r in load_rules(settings.groups)}
    changed = [r.id for r in rules if shipped.get(r.id) != r]
    where = args.config or os.environ.get("TIC_ALERT_CONFIG")
    print(f"config: packaged defaults{f' + {where}' if where else ''} + environment: OK")
    print(f"token: {_masked(settings.bot_token)}")
    print(f"database: {describe(settings.db_path)} ({database})")
    print(
        f"rules: {len(rules)} ({sum(r.enabled for r in rules)} on by default)"
        + (
            f"; {settings.rules_file} changes or adds {', '.join(changed) or 'none'}"
            if settings.rules_file
            else ""
        )
    )
    fields = operator_rule_fields(settings.rules_file) if settings.rules_file else {}
    lines, warnings = in_force(rules, shipped, fields)
    print("\n".join(lines))
    for warning in warnings:
        print(f"warning: {warning}")
    print(f"groups: {len(settings.groups)} ({', '.join(g.name for g in settings.groups)})")
    print(
        f"calendar: {settings.poller.calendar_file or 'packaged config/calendar.toml'}; next release "
        f"{nxt.days[0]} (data {nxt.data_month}{', official' if nxt.official else ', estimated'})"
    )
    http = settings.http_listen
    print(f"http: {f'{http[0]}:{http[1]} (/healthz, /readyz, /metrics)' if http else 'off'}")
    print(f"admins: {', '.join(map(str, settings.telegram.admins)) or 'none'}")
    print("\n# the effective configuration (TIC_ALERT_BOT_TOKEN is never in it; a URL's password is masked)")
    print(mask(toml_text(settings.effective)))
    return 0


def _masked(token: str | None) -> str:
    if not token:
        return "TIC_ALERT_BOT_TOKEN is not set (serve and run need it)"
    bot_id = token.split(":", 1)[0] if re.fullmatch(r"\d+:.+", token) else ""
    return f"TIC_ALERT_BOT_TOKEN is set ({bot_id + ':' if bot_id else ''}****, masked)"


def _db_state(settings: Settings) -> str:
    """The database's size, or that it is not there yet; one that cannot be opened (or made) is a
    ConfigError naming [store] db_path."""
    from bot.store.db import NoDatabase, open_readonly

    def refusal(problem: str) -> ConfigError:
        origin = "TIC_ALERT_DB" if os.environ.get("TIC_ALERT_DB") else None
        return refuse("store", "db_path", origin, None, settings.db_path, problem)

    try:
        db = open_readonly(settings.db_path)
    except NoDatabase:
        problem = _cannot_make(settings.db_path)
        if problem:
            raise refusal(problem) from None
        return "not there yet: poll or run makes it"
    except StoreError as err:
        raise refusal(str(err).split(": ", 1)[-1]) from err
    try:
        return f"{db.dialect.size(db):,} bytes"
    finally:
        db.close()


def _cannot_make(target: str) -> str | None:
    """Why ``poll`` or ``run`` could not make the SQLite file ``target``; None if they can (or it is
    a PostgreSQL database: its server said there is no schema yet)."""
    if is_postgres(target) or target == ":memory:":
        return None
    path = Path(target).expanduser().absolute()
    try:
        if path.exists():
            return None if path.is_file() else "not a file"
        folder = path.parent
        while not folder.exists():
            folder = folder.parent
    except OSError as err:
        return f"cannot be made ({err.strerror})"
    if not folder.is_dir():
        return f"cannot be made: {folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot be made: {folder} is not writable"
    return None


def cmd_backup(args: argparse.Namespace) -> int:
    from bot.store.backup import backup

    settings = load_settings(args.config)
    src, out = settings.db_path, args.out
    if out.exists():
        raise TicAlertError(f"backup: {out} exists; give a new file name")
    if not is_postgres(src) and out.resolve() == Path(src).resolve():
        raise TicAlertError("backup: OUT.db is the database itself")
    if not is_postgres(src) and not Path(src).expanduser().is_file():
        raise TicAlertError(f"backup: {src}: no database there to back up{NOT_THE_SERVICE}")
    check, version = backup(src, out)
    print(f"backed up {src} to {out}: {out.stat().st_size:,} bytes, schema v{version}, check {check}")
    return 0 if check == "ok" else 1


def cmd_prune(args: argparse.Namespace) -> int:
    from bot.store.db import connect
    from bot.store.prune import compact, prune

    settings = load_settings(args.config)
    db = _opened(partial(connect, settings.db_path, create=False), "prune")
    try:
        done = prune(db, args.keep_releases)
        print(f"pruned to the newest {args.keep_releases} release(s): {done.describe()}")
        if args.vacuum:
            before, after = compact(db)
            print(f"database {before:,} → {after:,} bytes")
    finally:
        db.close()
    return 0
