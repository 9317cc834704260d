"""The everyday run stays quick and free of races: `pytest -m "not slow"` leaves out what takes
seconds by design (registered, strictly), and no test in it sleeps a fixed time to wait for
something (tests/waits.py waits for the thing itself; a fake clock shows that nothing happens)."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INI = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]["ini_options"]


def test_the_slow_marker_is_registered_and_markers_are_strict():
    assert any(m.split(":")[0].strip() == "slow" for m in INI["markers"])
    assert "--strict-markers" in INI["addopts"].split()  # a misspelt @pytest.mark.slwo is an error


def test_the_postgresql_half_is_slow():
    from conftest import BACKENDS

    (postgresql,) = [b for b in BACKENDS if getattr(b, "values", None) == ("postgresql",)]
    assert [m.name for m in postgresql.marks] == ["slow"]
    assert "sqlite" in BACKENDS  # the SQLite half is in the everyday run


PROCESS_MODULES = ["test_drills.py", "test_bot_startup.py", "test_bot_flood.py", "test_operator_processes.py"]


@pytest.mark.parametrize("module", PROCESS_MODULES)
def test_the_modules_of_real_processes_and_floods_are_slow(module: str):
    tree = ast.parse((ROOT / "tests" / module).read_text(encoding="utf-8"))
    marks = [
        ast.unparse(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and [ast.unparse(t) for t in node.targets] == ["pytestmark"]
    ]
    assert marks == ["pytest.mark.slow"]


def fixed_sleeps(function: object) -> list[str]:
    """The sleep calls in a test function's own source (nested functions too) that wait a time:
    any argument but a literal 0 (a bare yield to the event loop)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))  # type: ignore[arg-type]
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        arg = node.args[0]
        if name == "sleep" and not (isinstance(arg, ast.Constant) and arg.value == 0):
            found.append(ast.unparse(node))
    return found


def everyday_tests(request: pytest.FixtureRequest) -> dict[str, object]:
    """The functions of the tests `-m "not slow"` runs, by node id (without parameters): from
    this session when it holds the suite, else collected in a subprocess and imported."""
    items = request.session.items
    if len({item.path for item in items}) > 20:
        fast = [item for item in items if item.get_closest_marker("slow") is None]
        return {item.nodeid.split("[")[0]: getattr(item, "function", None) for item in fast}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not slow", "-p", "no:cacheprovider"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    ids = {line.strip().split("[")[0] for line in proc.stdout.splitlines() if "::" in line}
    assert ids, proc.stdout[-2000:] + proc.stderr[-2000:]
    found: dict[str, object] = {}
    for nodeid in ids:
        path, *names = nodeid.split("::")
        obj: object = importlib.import_module(Path(path).stem)  # tests/ is on sys.path, as for conftest
        for name in names:
            obj = getattr(obj, name)
        found[nodeid] = obj
    return found


def test_no_everyday_test_sleeps_a_fixed_time(request: pytest.FixtureRequest):
    """A fixed sleep that waits *for* something is a race on a loaded machine (two failed CI);
    one that shows nothing happens costs its seconds on every run: neither belongs here."""
    found = {}
    for nodeid, function in everyday_tests(request).items():
        if function is not None and (sleeps := fixed_sleeps(function)):
            found[nodeid] = sleeps
    assert not found, f"wait for the condition (tests/waits.py) or mark the test slow: {found}"
