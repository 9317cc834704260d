"""Settings: packaged defaults (config/tic-alert.toml), an optional user file, then the environment.

Read once at startup by :func:`load_settings`; a bad key or value is a ConfigError naming it.
The release calendar is its own file (config/calendar.toml, or ``poller.calendar_file``),
read by :func:`bot.watch.calendar.load_calendar` through :meth:`PollerSettings.calendar`.
The bot token comes from ``TIC_ALERT_BOT_TOKEN`` only and is never printed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.data.entities import EntityNames, Group, known_countries
from bot.errors import ConfigError
from bot.notify.settings import TelegramSettings, telegram_settings
from bot.packaged import config_file, read_toml
from bot.watch.settings import PollerSettings, poller_settings

ENV_OVERRIDES = {
    "TIC_ALERT_SOURCE_URL": ("source", "base_url"),
    "TIC_ALERT_DB": ("store", "db_path"),
}
_SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "source": {"base_url": str, "timeout_seconds": (int, float), "user_agent": str, "max_body_bytes": int},
    "store": {"db_path": str},
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
SOURCE_RANGES: dict[str, tuple[float, float]] = {
    "timeout_seconds": (0.1, 300),
    "max_body_bytes": (1_000, 1_000_000_000),
}


@dataclass(frozen=True)
class Settings:
    """Everything tic-alert reads from configuration."""

    source_url: str
    timeout_seconds: float
    user_agent: str
    max_body_bytes: int
    db_path: Path
    groups: tuple[Group, ...]
    bot_token: str | None = field(default=None, repr=False)
    poller: PollerSettings = field(default_factory=PollerSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the file at ``path`` (or $TIC_ALERT_CONFIG), then environment overrides."""
    env = os.environ if env is None else env
    data = read_toml(config_file("tic-alert.toml"), "config packaged defaults")
    path = path or env.get("TIC_ALERT_CONFIG")
    if path:
        p = Path(path).expanduser()
        data = _overlay(data, read_toml(p, f"config file {p}"), str(p))
    for var, (section, key) in ENV_OVERRIDES.items():
        if env.get(var):
            data[section][key] = env[var]
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
        db_path=Path(data["store"]["db_path"]).expanduser(),
        groups=_groups(data.get("groups", {})),
        bot_token=env.get("TIC_ALERT_BOT_TOKEN") or None,
        poller=poller_settings(data.get("poller", {})),
        telegram=telegram_settings(data.get("telegram", {}), env.get("TIC_ALERT_TELEGRAM_API_URL")),
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
    for key, (lo, hi) in SOURCE_RANGES.items():
        value = data["source"][key]
        if not lo <= value <= hi:  # NaN fails both comparisons
            raise ConfigError(f"config: source.{key} must be {lo:g}..{hi:g}, found {value!r}")


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
