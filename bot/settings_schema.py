"""One schema for every settings section, and one wording for every refusal.

A section is a frozen dataclass whose fields are made by :func:`setting`: its bounds (``lo``,
``hi``), the most items of a list, the longest string, the TOML key when it is not the field's
name, a conversion for strings that are more than strings (a URL, a time zone). :func:`build`
checks a section's TOML table against the fields' types and bounds and makes the dataclass;
every refusal is one line, the same for every section and file::

    [telegram] poll_timeout_seconds = 0: must be ≥ 1
    [store] db_path (TIC_ALERT_DB) = "/dev/null/x.db": cannot be made: /dev/null is not a folder
    [calendar] fallback_business_day = 30: must be ≤ 20 (in calendar file /etc/tic-alert/cal.toml)

(the CLI puts ``tic-alert: config error:`` before it). Values are shown as TOML, long lists cut
short, and passwords masked (:func:`bot.masking.mask`).

Why a checker of our own rather than pydantic: pydantic is not a dependency (pydantic-settings
neither), and for some thirty keys it would bring a compiled core and three more packages; its
refusals are several lines each ("1 validation error for …", the input's type, a link) and would
be reworded here anyway; by default it coerces what TOML keeps apart (``true`` into 1, ``"5"``
into 5) unless each field is made strict; and the sections are dataclasses that tests and
benches build directly with values a file may not hold (``PollerSettings(retries=0)``), which a
model would refuse. What a TOML file can hold is few types; their checks are a page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import math
import re
import typing
from collections import Counter
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar

from bot.errors import ConfigError
from bot.masking import mask

T = TypeVar("T")
_MISSING: Any = dataclasses.MISSING


@dataclasses.dataclass(frozen=True)
class Spec:
    """What a field accepts beyond its type."""

    lo: float | None = None  # numbers, and a list's numbers
    hi: float | None = None
    items: int = 1_000  # the most items of a list
    chars: int = 500  # the longest string
    key: str | None = None  # the TOML key, when it is not the field's name
    parse: Callable[[str], Any] | None = None  # a string → the value; ValueError(problem) refuses


def setting(
    default: Any = _MISSING,
    *,
    lo: float | None = None,
    hi: float | None = None,
    items: int = 1_000,
    chars: int = 500,
    key: str | None = None,
    parse: Callable[[str], Any] | None = None,
) -> Any:
    """A dataclass field of a settings section (no default: the key must be given)."""
    spec = Spec(lo, hi, items, chars, key, parse)
    return dataclasses.field(default=default, metadata={"setting": spec})


def build(
    cls: type[T],
    section: str,
    raw: Mapping[str, Any],
    origins: Mapping[str, str] | None = None,
    within: str | None = None,
) -> T:
    """The section ``cls`` from its TOML table ``raw``; ``origins`` names the environment variable
    a key's value came from, ``within`` the file when it is not the settings file."""
    origins = origins or {}
    fields = _fields(cls)
    values: dict[str, object] = {}
    for key, value in raw.items():
        where = (section, key, origins.get(key), within)
        if key not in fields:
            near = difflib.get_close_matches(key, fields, n=1)
            raise refuse(*where, value, "unknown setting" + (f" (did you mean {near[0]}?)" if near else ""))
        f, hint = fields[key]
        try:
            values[f.name] = _convert(hint, f.metadata["setting"], value)
        except ValueError as err:
            raise refuse(*where, value, str(err)) from None
    for key, (f, _) in fields.items():
        if f.name not in values and f.default is _MISSING and f.default_factory is _MISSING:
            raise ConfigError(_label(section, key, origins.get(key)) + ": missing" + _within(within))
    return cls(**values)


def refuse(
    section: str, key: str, origin: str | None, within: str | None, value: Any, problem: str
) -> ConfigError:
    """The one wording: ``[section] key (ORIGIN) = value: problem (in FILE)``."""
    return ConfigError(f"{_label(section, key, origin)} = {shown(value)}: {problem}{_within(within)}")


def _label(section: str, key: str, origin: str | None) -> str:
    bare = key if re.fullmatch(r"[A-Za-z0-9_-]{1,60}", key) else json.dumps(key[:60], ensure_ascii=False)
    return f"[{section}] {bare}" + (f" ({origin})" if origin else "")


def _within(within: str | None) -> str:
    return f" (in {within})" if within else ""


def shown(value: Any, room: int = 200) -> str:
    """A value as TOML writes it, masked; a long list or string cut short."""
    if isinstance(value, list | tuple):
        parts = [shown(v, 20) for v in value[:4]]
        more = f", … ({len(value):,} items)" if len(value) > 4 else ""
        return "[" + ", ".join(parts) + more + "]"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(mask(value), ensure_ascii=False)
    elif isinstance(value, float) and not math.isfinite(value):
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    elif isinstance(value, int) and value.bit_length() > 256:  # not cut: a number cut is another number
        text = f"(a whole number of {value.bit_length():,} bits)"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k} = {shown(v, 20)}" for k, v in list(value.items())[:4]) + "}"
    else:
        text = str(value)
    return text if len(text) <= room or isinstance(value, int | float) else text[: room - 1] + "…"


@cache
def _fields(cls: type) -> dict[str, tuple[dataclasses.Field[Any], Any]]:
    hints = typing.get_type_hints(cls)
    return {
        (f.metadata["setting"].key or f.name): (f, hints[f.name])
        for f in dataclasses.fields(cls)
        if "setting" in f.metadata
    }


def _convert(hint: Any, spec: Spec, value: Any) -> Any:
    """``value`` as the field's type, within its bounds; a ValueError says what is wrong."""
    if hint is dt.time and isinstance(value, dt.time):  # TOML's own local time, 16:00:00
        return value
    if spec.parse is not None or hint in (str, dt.time):
        if not isinstance(value, str):
            raise ValueError("expected a string" if hint is str or spec.parse else "expected a time as HH:MM")
        if len(value) > spec.chars:
            raise ValueError(f"longer than {spec.chars:,} characters")
        if spec.parse is not None:
            return spec.parse(value)
        return clock(value) if hint is dt.time else value
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if hint in (int, float):
        return _number(value, hint, spec)
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise ValueError("expected a list")
        if len(value) > spec.items:
            raise ValueError(f"more than {spec.items:,} items")
        if item is dt.date:
            return _dates(value)
        try:
            return tuple(_number(v, item, spec) for v in value)
        except ValueError as err:
            raise ValueError(f"an item: {err}") from None
    raise TypeError(f"no conversion for {hint!r}: give the field a parse")  # a programming error


def _number(value: Any, kind: type, spec: Spec) -> int | float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (kind is int and isinstance(value, float))
    ):
        raise ValueError("expected a whole number" if kind is int else "expected a number")
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if spec.lo is not None and value < spec.lo:
        raise ValueError(f"must be ≥ {_number_text(spec.lo)}")
    if spec.hi is not None and value > spec.hi:
        raise ValueError(f"must be ≤ {_number_text(spec.hi)}")
    return kind(value)


def _number_text(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def clock(text: str) -> dt.time:
    """``"16:00"`` → a time; anything else is a ValueError."""
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if m is None or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError("expected a time as HH:MM")
    return dt.time(int(m[1]), int(m[2]))


def _dates(values: list[Any]) -> tuple[dt.date, ...]:
    out = []
    for v in values:
        try:
            out.append(v if type(v) is dt.date else dt.date.fromisoformat(v if isinstance(v, str) else ""))
        except ValueError:
            raise ValueError(f"{shown(v)} is not a date as YYYY-MM-DD") from None
    twice = sorted(d for d, n in Counter(out).items() if n > 1)
    if twice:
        raise ValueError(f"{twice[0]} is listed twice")
    return tuple(sorted(out))


def http_url(text: str) -> str:
    """A setting's http(s) URL, as given."""
    if not text.startswith(("http://", "https://")):
        raise ValueError("expected an http(s) URL")
    return text
