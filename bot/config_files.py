"""Reading a configuration file: the settings TOML (packaged and ``--config``), an operator's rules
file (``[rules] file``), a calendar file (``[poller] calendar_file``) and the packaged ones.

Every one goes through :func:`read_toml`, which refuses, as a ConfigError naming the file:

* anything but a regular file, before a byte is read: ``/dev/zero`` or ``/dev/urandom`` were read
  without end (5 GB in 26 s), a FIFO without a writer would block startup (what ``stat`` says is
  checked before the file is opened, and again after: it is opened non-blocking, so one swapped
  in between cannot block either);
* more than :data:`MAX_BYTES` (1 MB; tic-alert's own files are a few kB): at most that much plus one
  byte is read, whatever the file claims its size to be;
* TOML nested more than :data:`MAX_DEPTH` deep, counted on the text before tomllib parses it:
  tomllib recurses once per bracket (20,000 of them ended in a RecursionError), and a dotted key
  costs it time and memory by the square of its parts (10,000 parts: 2 s and 400 MB);
* a number Python will not read (more than 4,300 digits: tomllib's ValueError was an internal error).
"""

from __future__ import annotations

import os
import re
import stat
import sys
import tomllib
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from bot.errors import ConfigError

# a parsed TOML table (tomllib's): a file, or a table in one (its values: str, int, float, bool,
# dates and times, lists, tables); what every function that reads settings from TOML takes
Toml = dict[str, Any]

MAX_BYTES = 1_000_000
MAX_DEPTH = 10  # tic-alert's files nest 4 deep at most (the rules: file → [[rule]] → table → list)

_NONBLOCK = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)  # POSIX; 0 elsewhere
_KINDS = {
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


def read_toml(file: Path | Traversable, what: str) -> Toml:
    """A configuration file as TOML; ``what`` names it in every refusal ("config file x.toml")."""
    raw = _read(file, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{what}: not a UTF-8 text file (binary?)") from err
    line = too_deep(text)
    if line is not None:
        raise ConfigError(f"{what}: line {line}: nested more than {MAX_DEPTH} levels deep")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{what}: not valid TOML ({err})") from err
    except ValueError as err:  # int(): Python reads at most 4,300 digits (sys.get_int_max_str_digits)
        raise ConfigError(
            f"{what}: not valid TOML (a number of more than {sys.get_int_max_str_digits():,} digits)"
        ) from err
    except RecursionError as err:  # not reached: too_deep counts what tomllib recurses on
        raise ConfigError(f"{what}: nested more than {MAX_DEPTH} levels deep") from err
    if depth(data) > MAX_DEPTH:  # headers and dotted keys together ([a.b.c] with d.e.f = 1)
        raise ConfigError(f"{what}: nested more than {MAX_DEPTH} levels deep")
    return data


def _read(file: Path | Traversable, what: str) -> bytes:
    if not isinstance(file, Path):  # packaged, maybe inside a zip: never a device
        with file.open("rb") as f:
            raw: bytes = f.read(MAX_BYTES + 1)
    else:
        try:
            _regular(os.stat(file).st_mode, what)  # a FIFO or a socket is not even opened
            fd = os.open(file, os.O_RDONLY | _NONBLOCK)
        except OSError as err:
            raise ConfigError(f"{what}: cannot read it ({err.strerror})") from err
        try:
            _regular(os.fstat(fd).st_mode, what)  # what was opened, if it was swapped since
            raw = os.read(fd, MAX_BYTES + 1)
            while 0 < len(raw) <= MAX_BYTES and (more := os.read(fd, MAX_BYTES + 1 - len(raw))):
                raw += more
        except OSError as err:
            raise ConfigError(f"{what}: cannot read it ({err.strerror})") from err
        finally:
            os.close(fd)
    if len(raw) > MAX_BYTES:
        raise ConfigError(f"{what}: larger than {MAX_BYTES:,} bytes (a configuration file is a few kB)")
    return raw


def _regular(mode: int, what: str) -> None:
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else _KINDS.get(stat.S_IFMT(mode), "not a file")
        raise ConfigError(f"{what}: not a regular file ({kind})")


# What opens a level ([ {), closes one (] }), separates dotted key parts (.), ends a key (= , newline),
# or starts a string or a comment; everything between is skipped a run at a time.
_NEXT = re.compile(r"""[\[\]{}.=,\n"'#]""")
_SKIP = {  # from just after the opening quote (or #) to just after the end
    '"': re.compile(r'(?:[^"\\\n]|\\.)*+"?'),
    "'": re.compile(r"[^'\n]*+'?"),
    '"""': re.compile(r'(?:[^"\\]|\\.|"(?!""))*+"""(?:"{0,2})', re.S),
    "'''": re.compile(r"(?:[^']|'(?!''))*+'''(?:'{0,2})", re.S),
    "#": re.compile(r"[^\n]*+"),
}


def too_deep(text: str, limit: int = MAX_DEPTH) -> int | None:
    """The line where ``text`` opens more than ``limit`` brackets or braces at once, or has a key
    of more than ``limit`` dotted parts (strings and comments aside); None when it never does.

    A lexer, not a parser: on text that is not TOML it may count wrongly, and tomllib then refuses
    the text anyway (its recursion is caught as well)."""
    level = dots = pos = 0
    while (m := _NEXT.search(text, pos)) is not None:
        c, pos = m.group(), m.end()
        if c in "[{":
            level += 1
            dots = 0 if c == "{" else dots
        elif c in "]}":
            level = max(level - 1, 0)
        elif c == ".":
            dots += 1
        elif c in "=,\n":
            dots = 0
        else:
            quote = c * 3 if c in "\"'" and text.startswith(c * 2, pos) else c
            skip = _SKIP[quote].match(text, pos + len(quote) - 1)
            if skip is None:  # an unterminated multi-line string: tomllib says so
                return None
            pos = skip.end()
        if level > limit or dots >= limit:
            return text.count("\n", 0, pos) + 1
    return None


def depth(data: Any) -> int:
    """How deep tables and arrays nest in parsed TOML (``{"a": 1}`` is 1), without recursion."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, dict):
            items = list(value.values())
        elif isinstance(value, list):
            items = value
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((v, level + 1) for v in items if isinstance(v, dict | list))
    return deepest
