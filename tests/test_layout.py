"""The tree tells the story: one package per stage, data flowing one way, no cycles.

Stages, earliest first: data (bytes → Panel), store (SQLite or PostgreSQL), watch (is there a new release?),
rules (Panel → Events), render (Events → text + PNG), notify (→ Telegram). A module may import
the foundation (errors, packaged, telemetry: the metrics every stage records into, logs, and the
settings' reading, schema and masking) and its
own or an earlier stage, never a later one; config, cli, wiring and the HTTP status server wire
the stages together and no stage imports them (a stage's settings are passed in).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
FOUNDATION = (
    *("bot.errors", "bot.packaged", "bot.telemetry", "bot.logs", "bot.heap", "bot"),
    *(
        "bot.config_files",
        "bot.settings_schema",
        "bot.masking",
    ),  # every stage's settings read, checked, shown
)
STAGES = ("data", "store", "watch", "rules", "render", "notify")
TOP = ("bot.config", "bot.cli", "bot.arguments", "bot.ops", "bot.wiring", "bot.status_server", "bot.__main__")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every bot module ``path`` imports, at the top or inside a function (lazy imports count)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m == "bot" or m.startswith("bot.")}


def graph(root: Path = BOT) -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(root.rglob("*.py"))}


def rank(module: str) -> int:
    """0 for the foundation, 1.. for the stages in order, len(STAGES) + 1 for config and cli."""
    if module in FOUNDATION:
        return 0
    if module in TOP:
        return len(STAGES) + 1
    stage = module.split(".")[1]
    if stage not in STAGES:
        raise AssertionError(f"{module} belongs to no stage: add it to STAGES or FOUNDATION in this test")
    return STAGES.index(stage) + 1


def back_edges(g: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} → {b}" for a, deps in g.items() for b in deps if rank(b) > rank(a) and a not in TOP)


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Import cycles between modules (depth-first search; each cycle reported once by its path)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(g.get(m, ())):
            if d not in g:
                continue
            if state.get(d) == 1:
                found.append([*stack[stack.index(d) :], d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m)
    return found


def test_no_import_from_a_later_stage_into_an_earlier_one():
    assert back_edges(graph()) == []


# The pure stages (bytes → Panel → Events → text + PNG) reach no edge: no poller, no Telegram, no
# database. What they take from the store today, row types only (render tells an edit of a message
# as it was sent: DeliveryKind, Told); a new edge must be argued here, not slipped in.
PURE = ("data", "rules", "render")
EDGES = ("bot.watch", "bot.notify", "bot.store")
PURE_EDGE_IMPORTS = {"bot.render.alert → bot.store.outbox"}


def edge_imports(g: dict[str, set[str]]) -> set[str]:
    return {
        f"{a} → {b}"
        for a, deps in g.items()
        if a.split(".")[1:2] and a.split(".")[1] in PURE
        for b in deps
        if b.startswith(tuple(f"{e}." for e in EDGES)) or b in EDGES
    }


def test_the_pure_stages_reach_no_edge():
    assert edge_imports(graph()) == PURE_EDGE_IMPORTS


def test_no_import_cycles():
    assert cycles(graph()) == []


def test_every_package_is_a_stage():
    packages = {p.name for p in BOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(STAGES)


def test_no_module_shadows_a_library():
    names = {p.stem for p in BOT.rglob("*.py")}
    assert not names & {"telegram", "schedule", "pandas", "requests", "matplotlib", "utils"}


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"bot/data/a.py": "from bot.rules.x import y\n"}, ["bot.data.a → bot.rules.x"]),
        ({"bot/data/a.py": "def f():\n    import bot.notify.s\n"}, ["bot.data.a → bot.notify.s"]),
        ({"bot/rules/a.py": "from bot.config import S\n", "bot/config.py": ""}, ["bot.rules.a → bot.config"]),
        ({"bot/rules/a.py": "from bot.data.x import y\n", "bot/data/x.py": ""}, []),
    ],
)
def test_the_check_catches_a_back_edge(tmp_path: Path, tree: dict[str, str], expected: list[str]):
    for name, text in tree.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    g = {module_name_in(tmp_path, p): imports_of(p) for p in sorted((tmp_path / "bot").rglob("*.py"))}
    assert back_edges(g) == expected


def test_the_check_catches_a_cycle():
    g = {"bot.data.a": {"bot.data.b"}, "bot.data.b": {"bot.data.c"}, "bot.data.c": {"bot.data.a"}}
    assert cycles(g) == [["bot.data.a", "bot.data.b", "bot.data.c", "bot.data.a"]]


def module_name_in(root: Path, path: Path) -> str:
    return ".".join(path.relative_to(root).with_suffix("").parts)


MAX_LINES = 400  # "modules of a few hundred lines at most" (DESIGN §2)
MAX_PARAMETERS = 8  # beyond that a function wants an options dataclass, or fewer things to know


def test_no_module_is_over_max_lines():
    sizes = {
        str(p.relative_to(BOT.parent)): len(p.read_text(encoding="utf-8").splitlines())
        for p in BOT.rglob("*.py")
    }
    too_long = {path: n for path, n in sizes.items() if n > MAX_LINES}
    assert not too_long, f"split these along a seam, into modules named after what they own: {too_long}"


def parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """A function's parameters as a caller sees them: every one (positional-only, keyword-only,
    ``*args`` and ``**kwargs`` too) but a method's ``self`` or ``cls``."""
    a = fn.args
    names = [p.arg for p in (*a.posonlyargs, *a.args)]
    if names and names[0] in ("self", "cls"):
        names = names[1:]
    names += [p.arg for p in a.kwonlyargs]
    names += [f"*{p.arg}" for p in (a.vararg,) if p] + [f"**{p.arg}" for p in (a.kwarg,) if p]
    return names


def crowded(text: str, where: str) -> dict[str, int]:
    """``where:line name`` → its number of parameters, for each function over MAX_PARAMETERS."""
    return {
        f"{where}:{node.lineno} {node.name}": len(parameters(node))
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and len(parameters(node)) > MAX_PARAMETERS
    }


def test_no_function_has_more_than_max_parameters():
    found = {
        k: v for p in BOT.rglob("*.py") for k, v in crowded(p.read_text(encoding="utf-8"), str(p)).items()
    }
    assert not found, f"pass these an options dataclass, or fewer things: {found}"


@pytest.mark.parametrize(
    ("source", "count"),
    [
        ("def f(a, b, c, d, e, f, g, h): pass", None),
        ("def f(a, b, c, d, e, f, g, h, i): pass", 9),
        ("class C:\n    def m(self, a, b, c, d, e, f, g, h): pass", None),
        ("class C:\n    @classmethod\n    def m(cls, a, b, c, d, e, f, g, h, i): pass", 9),
        ("async def f(a, b, c, d, e, f, g, *, h=1, i=2): pass", 9),
        ("def f(a, /, b, c, d, e, f, g, *args, **kwargs): pass", 9),
    ],
)
def test_the_parameter_check_counts_every_kind(source: str, count: int | None):
    assert list(crowded(source, "x").values()) == ([count] if count else [])
