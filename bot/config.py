"""Settings: packaged defaults (config/tic-alert.toml), an optional user file, then the environment.

Read once at startup by :func:`load_settings`; a bad key or value is a ConfigError naming it, in
the one wording of :mod:`bot.settings_schema` (every section is a dataclass checked by its fields).
The release calendar is its own file (config/calendar.toml, or ``poller.calendar_file``),
read by :func:`bot.watch.calendar.load_calendar` through :meth:`PollerSettings.calendar`.
The bot token comes from ``TIC_ALERT_BOT_TOKEN`` only and is never printed.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from bot.config_files import Toml, read_toml
from bot.data.entities import EntityNames, Group, known_countries
from bot.errors import ConfigError
from bot.notify.settings import MAX_CHATS, TelegramSettings, telegram_settings
from bot.packaged import config_file, toml_text
from bot.rules.catalogue import RULES_FILE, Rule, load_rules
from bot.settings_schema import build, http_url, refuse, setting, shown
from bot.status_server import parse_listen
from bot.store.db import describe, expand
from bot.watch.settings import PollerSettings, poller_settings

ENV_OVERRIDES = {
    "TIC_ALERT_SOURCE_URL": ("source", "base_url"),
    "TIC_ALERT_DB": ("store", "db_path"),
    "TIC_ALERT_TELEGRAM_API_URL": ("telegram", "api_url"),  # config check shows the URL in force
    "TIC_ALERT_HTTP": ("http", "listen"),
}
MAX_GROUPS, MAX_MEMBERS = 100, 250


def _base_url(text: str) -> str:
    return http_url(text) if text.endswith("/") else http_url(text) + "/"


# The sections of the settings file besides [poller] (bot.watch.settings), [telegram]
# (bot.notify.settings) and [groups] (countries by name, below); the packaged file gives every key.
@dataclass(frozen=True)
class SourceSection:
    base_url: str = setting(parse=_base_url, chars=2000)
    timeout_seconds: float = setting(lo=0.1, hi=300)
    user_agent: str = setting(chars=200)
    max_body_bytes: int = setting(lo=1_000, hi=1_000_000_000)


@dataclass(frozen=True)
class StoreSection:
    db_path: str = setting(chars=4096)  # a SQLite file's path or a postgresql:// URL
    keep_releases: int = setting(lo=0, hi=10_000)  # 0: never prune


@dataclass(frozen=True)
class RulesSection:
    file: str = setting(chars=4096)


@dataclass(frozen=True)
class HttpSection:
    listen: tuple[str, int] | None = setting(parse=parse_listen, chars=300)
    stall_seconds: float = setting(lo=10, hi=86_400)


@dataclass(frozen=True)
class Settings:
    """Everything tic-alert reads from configuration."""

    source_url: str
    timeout_seconds: float
    user_agent: str
    max_body_bytes: int
    db_path: str  # a SQLite file's path (~ expanded) or a postgresql:// URL
    groups: tuple[Group, ...]
    bot_token: str | None = field(default=None, repr=False)
    poller: PollerSettings = field(default_factory=PollerSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    http_listen: tuple[str, int] | None = None  # None: no HTTP endpoints
    stall_seconds: float = 300.0  # a loop silent this long makes /healthz answer 503
    keep_releases: int = 0  # the running service prunes to this many releases once a day; 0: never
    rules_file: Path | None = None  # an operator's rules laid over the shipped ones, by id
    effective: Toml = field(default_factory=dict, repr=False, compare=False)

    def rules(self) -> tuple[Rule, ...]:
        """The rule catalogue: the shipped rules, with ``rules_file``'s laid over them by id."""
        if self.rules_file is None:
            return load_rules(self.groups)
        return load_rules(self.groups, operator_rules_text(self.rules_file), str(self.rules_file))


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the file at ``path`` (or $TIC_ALERT_CONFIG), then environment overrides."""
    env = os.environ if env is None else env
    data = read_toml(config_file("tic-alert.toml"), "config packaged defaults")
    path = path or env.get("TIC_ALERT_CONFIG")
    if path:
        p = Path(path).expanduser()
        own = read_toml(p, f"config file {p}")
        data = _overlay(data, own, str(p))
        rules_file = own.get("rules", {}).get("file") if isinstance(own.get("rules"), dict) else None
        if isinstance(rules_file, str) and rules_file and not Path(rules_file).expanduser().is_absolute():
            data["rules"]["file"] = str(p.parent / rules_file)  # relative to the file that names it
    origins: dict[str, dict[str, str]] = {section: {} for section in data}
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            data[section][key] = env[var]
            origins[section][key] = var
    if env.get("TIC_ALERT_ADMINS"):
        data["telegram"]["admins"] = _chat_ids(env["TIC_ALERT_ADMINS"])
        origins["telegram"]["admins"] = "TIC_ALERT_ADMINS"
    source = build(SourceSection, "source", data["source"], origins["source"])
    store = build(StoreSection, "store", data["store"], origins["store"])
    http = build(HttpSection, "http", data["http"], origins["http"])
    rules = build(RulesSection, "rules", data["rules"])
    return Settings(
        source_url=source.base_url,
        timeout_seconds=source.timeout_seconds,
        user_agent=source.user_agent,
        max_body_bytes=source.max_body_bytes,
        db_path=expand(store.db_path),
        groups=_groups(data.get("groups", {})),
        bot_token=env.get("TIC_ALERT_BOT_TOKEN") or None,
        poller=poller_settings(data["poller"]),
        telegram=telegram_settings(
            data["telegram"], env.get("TIC_ALERT_TELEGRAM_API_URL"), origins["telegram"]
        ),
        http_listen=http.listen,
        stall_seconds=http.stall_seconds,
        keep_releases=store.keep_releases,
        rules_file=Path(rules.file).expanduser() if rules.file else None,
        effective={**data, "store": {**data["store"], "db_path": describe(store.db_path)}},
    )


def _overlay(base: Toml, top: Toml, where: str) -> Toml:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in top.items():
        if section not in out:
            raise ConfigError(f"[{section}]: unknown section ({', '.join(out)}) (in config file {where})")
        if not isinstance(values, dict):
            raise ConfigError(f"[{section}] = {shown(values)}: expected a table (in config file {where})")
        out[section].update(values)
    return out


def _chat_ids(text: str) -> list[int]:
    """ "123, -100456" → [123, -100456]; anything else refused naming TIC_ALERT_ADMINS."""
    parts = text.split(",", MAX_CHATS)  # one more than may be given, the rest unsplit
    if len(parts) > MAX_CHATS:
        head = text[:40] + "…"
        raise refuse("telegram", "admins", "TIC_ALERT_ADMINS", None, head, f"more than {MAX_CHATS:,} items")
    if not all(re.fullmatch(r"\s*-?\d{1,20}\s*", part) for part in parts):
        problem = "expected chat ids separated by commas"
        raise refuse("telegram", "admins", "TIC_ALERT_ADMINS", None, text, problem)
    return [int(part) for part in parts]


def operator_rules_text(path: Path) -> str:
    """The shipped rules with an operator's file laid over them, as one rules file's text.

    The file has the shipped format ([[rule]] tables). A table whose id is a shipped rule's
    changes only the fields it names (``id = "holdings-3m-drop"`` and ``threshold = 80`` is a whole
    file); a new id must be a whole rule. Shipped rules it does not name keep their defaults."""
    shipped = read_toml(config_file(RULES_FILE), f"config/{RULES_FILE}")["rule"]
    own = read_toml(path, f"[rules] file = {shown(str(path))}")
    unknown = sorted(set(own) - {"rule"})
    if unknown:
        raise ConfigError(f"rules {path}: unknown top-level key {unknown[0]!r} (expected [[rule]] tables)")
    tables = own.get("rule", [])
    if not isinstance(tables, list) or not tables:
        raise ConfigError(f"rules {path}: no [[rule]] tables")
    merged = {r["id"]: r for r in shipped}
    for number, table in enumerate(tables, start=1):
        if not isinstance(table, dict) or not isinstance(table.get("id"), str):
            raise ConfigError(f"rules {path}: rule #{number}: field 'id': missing (each rule names its id)")
        if table["id"] not in merged and "kind" not in table:  # a change to a rule that is not there
            near = difflib.get_close_matches(table["id"], list(merged), n=1, cutoff=0.6)
            raise ConfigError(
                f"rules {path}: rule {table['id']!r}: no shipped rule has this id"
                + (f" (did you mean {near[0]!r}?)" if near else "")
                + "; a new rule is a whole rule, starting with its kind"
            )
        base = dict(merged.get(table["id"], {}))
        if {"entity", "entities"} & set(table):  # one replaces the other
            base.pop("entity", None)
            base.pop("entities", None)
        merged[table["id"]] = {**base, **table}
    return toml_text({"rule": list(merged.values())})


def operator_rule_fields(path: Path) -> dict[str, set[str]]:
    """Rule id → the fields an operator's rules file sets for it (what ``config check`` shows)."""
    own = read_toml(path, f"[rules] file = {shown(str(path))}")
    tables = own.get("rule", [])
    return {t["id"]: set(t) for t in tables if isinstance(t, dict) and isinstance(t.get("id"), str)}


def _groups(raw: Toml) -> tuple[Group, ...]:
    if len(raw) > MAX_GROUPS:
        raise ConfigError(f"[groups]: more than {MAX_GROUPS} groups")
    names = EntityNames(sorted(known_countries()))
    groups = []
    for name, members in raw.items():
        bad = partial(refuse, "groups", name, None, None, members)
        if not isinstance(members, list) or not all(isinstance(m, str) and m.strip() for m in members):
            raise bad("expected a list of country names")
        if not 2 <= len(members) <= MAX_MEMBERS:
            raise bad(f"must list at least two countries, at most {MAX_MEMBERS}")
        if len(name) > 100:
            raise bad("a group's name is at most 100 characters")
        canonical = []
        for m in members:
            found = names.resolve(m)
            if found is None:  # a typo would silently drop the group and all its events
                hint = ", ".join(names.suggest(m))
                raise bad(f"unknown country {shown(m)}" + (f" (did you mean {hint}?)" if hint else ""))
            canonical.append(found)
        groups.append(Group(name, tuple(canonical)))
    return tuple(groups)
