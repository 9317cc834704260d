"""Issue 26: every configuration file is read as a regular file of at most 1 MB, nested at most
10 deep; what tomllib would recurse on or choke on is counted before it parses."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from bot.config_files import MAX_BYTES, MAX_DEPTH, depth, read_toml, too_deep
from bot.errors import ConfigError


def refusal(path: Path) -> str:
    with pytest.raises(ConfigError) as err:
        read_toml(path, f"file {path}")
    return str(err.value)


def test_a_fifo_without_a_writer_is_refused_at_once(tmp_path: Path):
    fifo = tmp_path / "rules.toml"
    os.mkfifo(fifo)
    start = time.monotonic()
    assert refusal(fifo) == f"file {fifo}: not a regular file (a FIFO)"
    assert time.monotonic() - start < 1  # opened without blocking, refused on what it is


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused_before_a_byte_is_read(device: str):
    start = time.monotonic()
    assert refusal(Path(device)) == f"file {device}: not a regular file (a device)"
    assert time.monotonic() - start < 1


def test_a_folder_and_a_socket_are_refused(tmp_path: Path):
    assert refusal(tmp_path).endswith("not a regular file (a folder)")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s.toml"))
        assert refusal(tmp_path / "s.toml").endswith("not a regular file (a socket)")


def test_the_size_cap(tmp_path: Path):
    f = tmp_path / "big.toml"
    f.write_text("# x\n" * (MAX_BYTES // 4))  # exactly 1 MB of comments: read
    assert read_toml(f, "big") == {}
    with f.open("a") as more:
        more.write("\n")
    assert refusal(f) == f"file {f}: larger than 1,000,000 bytes (a configuration file is a few kB)"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("x = " + "[" * MAX_DEPTH + "]" * MAX_DEPTH, None),
        ("x = " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), 1),
        ("a = 1\nx = " + "{y = " * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), 2),
        ("[a.b.c.d.e.f.g.h.i.j]\n", None),  # 10 parts
        ("[a.b.c.d.e.f.g.h.i.j.k]\n", 1),
        ("a.b.c.d.e.f.g.h.i.j.k = 1\n", 1),
        ("a . b . c . d . e . f . g . h . i . j . k = 1\n", 1),
        # brackets, braces and dots in strings and comments are not nesting
        ('x = "' + "[{." * 50 + '"\n', None),
        ("x = '" + "[{." * 50 + "'\n", None),
        ('x = """\n' + "[{.\n" * 50 + '"""\n', None),
        ("x = '''\n" + "[{.\n" * 50 + "'''\n", None),
        ('x = "a \\" [[[[[[[[[[[[ "\n', None),  # an escaped quote does not end the string
        ("# " + "[" * 50 + "\n", None),
        ('"a.b.c.d.e.f.g.h.i.j.k.l" = 1\n', None),
        ("x = [" + ", ".join(["1.5"] * 100) + "]\n", None),  # floats' dots are not key parts
    ],
)
def test_nesting_is_counted_before_tomllib_parses(text: str, line: int | None):
    assert too_deep(text) == line


def test_deep_nesting_is_refused_with_its_line_not_a_recursion_error(tmp_path: Path):
    f = tmp_path / "deep.toml"
    f.write_text('[source]\nx = "fine"\ny = ' + "[" * 20_000 + "]" * 20_000 + "\n")
    assert refusal(f) == f"file {f}: line 3: nested more than 10 levels deep"
    f.write_text("x" + ".a" * 100_000 + " = 1\n")  # tomllib: quadratic in the parts (10,000: 2 s, 400 MB)
    start = time.monotonic()
    assert refusal(f) == f"file {f}: line 1: nested more than 10 levels deep"
    assert time.monotonic() - start < 1


def test_headers_and_dotted_keys_together_are_capped_after_parsing(tmp_path: Path):
    f = tmp_path / "t.toml"
    f.write_text("[a.b.c.d.e]\nf.g.h.i.j.k = 1\n")  # each under the cap, 11 deep together
    assert refusal(f) == f"file {f}: nested more than 10 levels deep"
    assert depth({"a": {"b": [1, {"c": 2}]}}) == 4


def test_shipped_files_read_as_before():
    from bot.packaged import config_file

    for name in ("tic-alert.toml", "rules.toml", "calendar.toml", "countries.toml"):
        assert read_toml(config_file(name), name)
