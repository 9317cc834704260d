"""The repository keeps its promises: README commands, CI, lint, documented commands."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def sh_blocks() -> list[str]:
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", README, flags=re.S)]


def test_readme_has_the_two_commands():
    blocks = sh_blocks()
    assert any("pip install" in b and "tic-alert check" in b for b in blocks)
    assert any("pip install" in b and "pytest" in b for b in blocks)


def test_ci_runs_exactly_the_readme_test_command():
    test_command = next(b for b in sh_blocks() if "pytest" in b)
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_every_command_is_documented():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"tic-alert {name}" in README, f"`tic-alert {name}` is not in README.md"


def test_the_cli_docstring_names_every_command():
    import bot.cli

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert f"``{name}``" in (bot.cli.__doc__ or "") or f"``tic-alert {name}``" in (bot.cli.__doc__ or "")


def ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (it is in the test extra)")
    return found


def test_ruff_is_clean():
    proc = subprocess.run([ruff(), "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean():
    proc = subprocess.run(
        [ruff(), "format", "--check", "."], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, "ruff format would change files:\n" + proc.stdout + proc.stderr


def test_no_treasury_file_is_copied_into_the_repo():
    names = {
        "slt_table5.txt",
        "mfhhis01.txt",
        "mfhhis01.csv",
        "mfh.txt",
        "slt_table3.txt",
        "slt_table1.txt",
        "s1_globl.txt",
        "slt3d_globl.csv",
        "slt_table5.html",
        "slt2d.txt",
    }
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout
    if not tracked:
        pytest.skip("not a git checkout")
    assert not [p for p in tracked.splitlines() if Path(p).name in names]


def test_readme_names_exactly_the_rule_kinds():
    from bot.rules.kinds import KINDS

    sentence = re.search(r"a kind \((.*?)\)", README, flags=re.S)
    assert sentence is not None
    assert re.findall(r"`(\w+)`", sentence.group(1)) == list(KINDS)


def test_readmes_bot_commands_are_the_command_table_behind_help():
    """README's two command tables say what /help and the command menus say: the same usage, the
    same words, the same settings mark; no command missing from either side."""
    from bot.notify.commands import COMMANDS

    rows = re.findall(r"^\| `(/[^`]+)` \| (.*?) \|(?: (yes)? *\|)?$", README, flags=re.M)
    documented = {usage.replace("\\|", "|"): (about, bool(mark)) for usage, about, mark in rows}
    table = {c.usage: (c.about, c.settings) for c in COMMANDS}
    assert documented == table
