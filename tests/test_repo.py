"""The repository keeps its promises: README commands, CI, lint, documented commands, and the
README and docs/ in step with the code and with each other."""

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
DOCS = ROOT / "docs"
README_MAX_LINES = 200  # the front page: what it is, the two commands, a tour, then docs/ (issue 26)


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


def test_the_rules_doc_names_exactly_the_rule_kinds():
    from bot.rules.kinds import KINDS

    rules_doc = (DOCS / "rules.md").read_text(encoding="utf-8")
    sentence = re.search(r"a kind\s+\((.*?)\)", rules_doc, flags=re.S)
    assert sentence is not None
    assert re.findall(r"`(\w+)`", sentence.group(1)) == list(KINDS)


def test_readmes_bot_commands_are_the_command_table_behind_help():
    """README's two command tables say what /help and the command menus say: the same usage, the
    same words, the same settings mark; no command missing from either side."""
    from bot.notify.people.commands import COMMANDS

    rows = re.findall(r"^\| `(/[^`]+)` \| (.*?) \|(?: (yes)? *\|)?$", README, flags=re.M)
    documented = {usage.replace("\\|", "|"): (about, bool(mark)) for usage, about, mark in rows}
    table = {c.usage: (c.about, c.settings) for c in COMMANDS}
    assert documented == table


def test_readme_is_a_front_page():
    lines = len(README.splitlines())
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines: move detail to docs/ (at most {README_MAX_LINES})"
    )


def markdown_links(path: Path) -> list[str]:
    """The relative links of a Markdown file (outside code blocks), as written: path#anchor."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"[a-z]+:", t)]


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped,
    spaces as hyphens."""
    headings = re.findall(
        r"^#+ (.+)$", re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S), re.M
    )
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_doc_the_readme_links_exists_and_every_doc_is_linked():
    linked = {link.split("#")[0] for link in markdown_links(ROOT / "README.md") if link.startswith("docs/")}
    assert linked, "README.md links no docs/*.md"
    missing = sorted(p for p in linked if not (ROOT / p).is_file())
    assert not missing, f"README.md links missing files: {missing}"
    unlinked = sorted(f"docs/{p.name}" for p in DOCS.glob("*.md") if f"docs/{p.name}" not in linked)
    assert not unlinked, f"not linked from README.md: {unlinked}"


def test_links_between_the_readme_and_the_docs_resolve():
    broken = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for link in markdown_links(page):
            target, _, anchor = link.partition("#")
            path = (page.parent / target).resolve() if target else page
            if not path.exists():
                broken.append(f"{page.name}: {link} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{page.name}: {link} (no such heading)")
    assert not broken, broken


def test_the_operations_doc_names_every_setting_and_variable():
    """Every key of the packaged settings and every TIC_ALERT_* variable the code reads is in the
    configuration reference."""
    import tomllib

    ops = (DOCS / "operations.md").read_text(encoding="utf-8")
    settings = tomllib.loads((ROOT / "config" / "tic-alert.toml").read_text(encoding="utf-8"))
    keys = [f"{section}.{key}" for section, table in settings.items() if section != "groups" for key in table]
    assert not [k for k in keys if f"`{k.split('.')[1]}`" not in ops and f"`{k}`" not in ops]
    assert not [s for s in settings if f"`[{s}]`" not in ops]
    code = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py"))
    variables = sorted(set(re.findall(r"TIC_ALERT_[A-Z_]+", code)))
    assert variables and not [v for v in variables if f"`{v}`" not in ops]
