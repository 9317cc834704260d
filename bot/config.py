"""Settings: packaged defaults (config/tic-alert.toml), an optional user file, then the environment.

Read once at startup by :func:`load_settings`; a bad key or value is a ConfigError naming it.
The release calendar is its own file (config/calendar.toml, or ``poller.calendar_file``),
read by :func:`bot.watch.calendar.load_calendar` through :meth:`PollerSettings.calendar`.
The bot token comes from ``TIC_ALERT_BOT_TOKEN`` only and is never printed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config_files import read_toml
from bot.data.entities import EntityNames, Group, known_countries
from bot.errors import ConfigError
from bot.notify.settings import TelegramSettings, telegram_settings
from bot.packaged import config_file, toml_text
from bot.rules.catalogue import RULES_FILE, Rule, load_rules
from bot.status_server import parse_listen
from bot.store.db import describe, expand
from bot.watch.settings import PollerSettings, poller_settings

ENV_OVERRIDES = {
    "TIC_ALERT_SOURCE_URL": ("source", "base_url"),
    "TIC_ALERT_DB": ("store", "db_path"),
    "TIC_ALERT_HTTP": ("http", "listen"),
}
_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "source": {"base_url": str, "timeout_seconds": (int, float), "user_agent": str, "max_body_bytes": int},
    "store": {"db_path": str, "keep_releases": int},
    "rules": {"file": str},
    "http": {"listen": str, "stall_seconds": (int, float)},
    "poller": {
        "window_start": str,
        "window_end": str,
        "in_window_seconds": (int, float),
        "out_of_window_seconds": (int, float),
        "tick_seconds": (int, float),
        "failures_before_event": int,
        "max_backoff_seconds": (int, float),
        "companion_grace_minutes": (int, float),
        "retries": int,
        "retry_backoff_factor": (int, float),
        "calendar_file": str,
    },
}
# Finite, sensible ranges, checked at startup (NaN and inf are refused).
RANGES: dict[tuple[str, str], tuple[float, float]] = {
    ("source", "timeout_seconds"): (0.1, 300),
    ("source", "max_body_bytes"): (1_000, 1_000_000_000),
    ("store", "keep_releases"): (0, 10_000),  # 0: never prune
    ("http", "stall_seconds"): (10, 86_400),
}


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
    effective: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

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
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            data[section][key] = env[var]
    if env.get("TIC_ALERT_ADMINS"):
        data["telegram"]["admins"] = _chat_ids(env["TIC_ALERT_ADMINS"], "TIC_ALERT_ADMINS")
    _check(data)
    base_url = data["source"]["base_url"]
    if not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"source.base_url: expected an http(s) URL, found {base_url!r}")
    if not base_url.endswith("/"):
        base_url += "/"
    return Settings(
        source_url=base_url,
        timeout_seconds=float(data["source"]["timeout_seconds"]),
        user_agent=data["source"]["user_agent"],
        max_body_bytes=int(data["source"]["max_body_bytes"]),
        db_path=expand(data["store"]["db_path"]),
        groups=_groups(data.get("groups", {})),
        bot_token=env.get("TIC_ALERT_BOT_TOKEN") or None,
        poller=poller_settings(data.get("poller", {})),
        telegram=telegram_settings(data.get("telegram", {}), env.get("TIC_ALERT_TELEGRAM_API_URL")),
        http_listen=parse_listen(data["http"]["listen"], "http.listen (or TIC_ALERT_HTTP)"),
        stall_seconds=float(data["http"]["stall_seconds"]),
        keep_releases=int(data["store"]["keep_releases"]),
        rules_file=Path(data["rules"]["file"]).expanduser() if data["rules"]["file"] else None,
        effective={**data, "store": {**data["store"], "db_path": describe(data["store"]["db_path"])}},
    )


def _overlay(base: dict[str, Any], top: dict[str, Any], where: str) -> dict[str, Any]:
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for section, values in top.items():
        if section not in out:
            raise ConfigError(f"config {where}: unknown section [{section}]")
        if not isinstance(values, dict):
            raise ConfigError(f"config {where}: [{section}] must be a table")
        out[section].update(values)
    return out


def _check(data: dict[str, Any]) -> None:
    for section, keys in _SCHEMA.items():
        for key, value in data.get(section, {}).items():
            if key not in keys:
                raise ConfigError(f"config: unknown setting {section}.{key}")
            if not isinstance(value, keys[key]) or isinstance(value, bool):
                raise ConfigError(f"config: {section}.{key} has a bad value {value!r}")
    for (section, key), (lo, hi) in RANGES.items():
        value = data[section][key]
        if not lo <= value <= hi:  # NaN fails both comparisons
            raise ConfigError(f"config: {section}.{key} must be {lo:g}..{hi:g}, found {value!r}")


def _chat_ids(text: str, where: str) -> list[int]:
    """ "123, -100456" → [123, -100456]; anything else is a ConfigError naming ``where``."""
    ids = []
    for part in text.split(","):
        part = part.strip()
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise ConfigError(f"{where}: expected chat ids separated by commas, found {part!r}")
        ids.append(int(part))
    return ids


def operator_rules_text(path: Path) -> str:
    """The shipped rules with an operator's file laid over them, as one rules file's text.

    The file has the shipped format ([[rule]] tables). A table whose id is a shipped rule's
    changes only the fields it names (``id = "holdings-3m-drop"`` and ``threshold = 80`` is a whole
    file); a new id must be a whole rule. Shipped rules it does not name keep their defaults."""
    shipped = read_toml(config_file(RULES_FILE), f"config/{RULES_FILE}")["rule"]
    own = read_toml(path, f"rules {path}")
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
        base = dict(merged.get(table["id"], {}))
        if {"entity", "entities"} & set(table):  # one replaces the other
            base.pop("entity", None)
            base.pop("entities", None)
        merged[table["id"]] = {**base, **table}
    return toml_text({"rule": list(merged.values())})


def _groups(raw: dict[str, Any]) -> tuple[Group, ...]:
    groups = []
    for name, members in raw.items():
        if (
            not isinstance(members, list)
            or len(members) < 2
            or not all(isinstance(m, str) and m.strip() for m in members)
        ):
            raise ConfigError(f"config: group {name!r} must list at least two country names")
        names = EntityNames(sorted(known_countries()))
        canonical = []
        for m in members:
            found = names.resolve(m)
            if found is None:  # a typo would silently drop the group and all its events
                hint = ", ".join(names.suggest(m))
                also = f" (did you mean {hint}?)" if hint else ""
                raise ConfigError(f"config: group {name!r}: unknown country {m!r}{also}")
            canonical.append(found)
        groups.append(Group(name, tuple(canonical)))
    return tuple(groups)
