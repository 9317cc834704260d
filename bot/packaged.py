"""The repository's config/ folder, shipped inside the installed package as ``bot._config``."""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


def config_file(name: str) -> Traversable:
    """A file of the repository's config/ folder (defaults, rules, calendar, countries)."""
    try:
        return resources.files("bot._config") / name
    except ModuleNotFoundError:  # running from a source tree that was not installed
        return Path(__file__).resolve().parent.parent / "config" / name
