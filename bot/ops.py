"""The operator's commands: ``outbox`` (deliveries by state), ``config check`` (the effective
configuration, validated, token masked), ``backup OUT.db`` (a consistent copy of a SQLite file
while the bot runs; PostgreSQL: pg_dump) and ``prune --keep-releases N``. Reading commands never
create a database, its folders or its tables."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from pathlib import Path

from bot.config import Settings, load_settings
from bot.errors import ConfigError, StoreError, TicAlertError
from bot.masking import mask
from bot.packaged import toml_text
from bot.settings_schema import refuse
from bot.store.db import describe, is_postgres

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


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, found {text!r}")
    return int(text)


def cmd_outbox(args: argparse.Namespace) -> int:
    from bot.store.db import NoDatabase, open_readonly
    from bot.store.outbox import Outbox

    settings = load_settings(args.config)
    try:
        conn = open_readonly(settings.db_path)
    except NoDatabase:
        print(f"No deliveries yet (no database at {describe(settings.db_path)}).")
        return 0
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


def cmd_config_check(args: argparse.Namespace) -> int:
    import datetime as dt

    from bot.rules.catalogue import load_rules
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
    check, version = backup(src, out)
    print(f"backed up {src} to {out}: {out.stat().st_size:,} bytes, schema v{version}, check {check}")
    return 0 if check == "ok" else 1


def cmd_prune(args: argparse.Namespace) -> int:
    from bot.store.db import connect
    from bot.store.prune import compact, prune

    settings = load_settings(args.config)
    db = connect(settings.db_path, create=False)
    try:
        done = prune(db, args.keep_releases)
        print(f"pruned to the newest {args.keep_releases} release(s): {done.describe()}")
        if args.vacuum:
            before, after = compact(db)
            print(f"database {before:,} → {after:,} bytes")
    finally:
        db.close()
    return 0
