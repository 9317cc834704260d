"""The repository's config/ folder, shipped inside the installed package as ``bot._config``."""

from __future__ import annotations

import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from bot.errors import ConfigError


def config_file(name: str) -> Traversable:
    """A file of the repository's config/ folder (defaults, rules, calendar, countries)."""
    try:
        return resources.files("bot._config") / name
    except ModuleNotFoundError:  # running from a source tree that was not installed
        return Path(__file__).resolve().parent.parent / "config" / name


def read_toml(file: Path | Traversable, what: str) -> dict[str, Any]:
    """A settings file as TOML; unreadable, not text or not TOML is a ConfigError naming ``what``."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{what}: cannot read it ({err.strerror})") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"{what}: not a UTF-8 text file (binary?)") from err
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{what}: not valid TOML ({err})") from err
