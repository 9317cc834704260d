"""The repository's config/ folder, shipped inside the installed package as ``bot._config``, and
TOML written back (reading one: :mod:`bot.config_files`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any


def config_file(name: str) -> Traversable:
    """A file of the repository's config/ folder (defaults, rules, calendar, countries)."""
    try:
        return resources.files("bot._config") / name
    except ModuleNotFoundError:  # running from a source tree that was not installed
        return Path(__file__).resolve().parent.parent / "config" / name


def toml_text(data: Mapping[str, Any]) -> str:
    """TOML for what tic-alert's files hold: tables of scalars and lists, and arrays of tables.

    ``{"a": {"k": 1}, "rule": [{"id": "x"}]}`` → ``[a]\\nk = 1\\n\\n[[rule]]\\nid = "x"``; reading
    the text back with tomllib gives ``data`` again.
    """
    out: list[str] = []
    for name, value in data.items():
        if isinstance(value, Mapping):
            out += [f"[{_key(name)}]", *(f"{_key(k)} = {_value(v)}" for k, v in value.items()), ""]
        elif isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
            for table in value:
                out += [f"[[{_key(name)}]]", *(f"{_key(k)} = {_value(v)}" for k, v in table.items()), ""]
        else:
            out.insert(0, f"{_key(name)} = {_value(value)}")
    return "\n".join(out)


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            ("-inf" if value < 0 else "inf")
            if math.isinf(value)
            else "nan"
            if value != value
            else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's basic-string escapes
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {type(value).__name__}")
