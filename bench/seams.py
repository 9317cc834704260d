"""The seams, counted: what a newcomer must read a producer to learn (issue 15's before/after).

    python bench/seams.py

Prints: string literals of rule-kind names outside bot/rules/kinds.py (by module);
``dict[str, Any]`` annotations and ``-> dict`` / ``-> tuple`` returns in bot/ (by module); the
longest functions in bot/notify/; how many tests exercise bot/store directly on a database
(tests/test_store*.py); and ``assert a and b`` statements in tests/.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KIND_NAMES = ("change", "record", "official_selling", "streak", "multi_year", "rank_change")


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def kind_literals() -> Counter[str]:
    found: Counter[str] = Counter()
    for path in modules("bot"):
        if path.name == "kinds.py" and path.parent.name == "rules":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in KIND_NAMES:
                found[str(path.relative_to(ROOT))] += 1
    return found


def loose_types() -> Counter[str]:
    found: Counter[str] = Counter()
    pattern = re.compile(r"dict\[str, Any\]|-> dict\b|-> tuple\[Dispatched|list\[tuple\]")
    for path in modules("bot"):
        n = len(pattern.findall(path.read_text()))
        if n:
            found[str(path.relative_to(ROOT))] += n
    return found


def longest_functions(folder: str, top: int = 5) -> list[tuple[int, str]]:
    out = []
    for path in modules(folder):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                out.append((length, f"{path.relative_to(ROOT)}:{node.name}"))
    return sorted(out, reverse=True)[:top]


def store_tests() -> int:
    count = 0
    for path in sorted((ROOT / "tests").glob("test_store*.py")):
        tree = ast.parse(path.read_text())
        count += sum(1 for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_"))
    return count


def and_asserts() -> int:
    count = 0
    for path in modules("tests"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assert) and isinstance(node.test, ast.BoolOp):
                count += isinstance(node.test.op, ast.And)
    return count


def main() -> int:
    kinds = kind_literals()
    print(f"kind-name literals outside rules/kinds.py: {sum(kinds.values())} in {len(kinds)} modules")
    for name, n in kinds.most_common():
        print(f"  {n:3}  {name}")
    loose = loose_types()
    print(f"dict[str, Any] / bare dict or tuple rows in bot/: {sum(loose.values())} in {len(loose)} modules")
    for name, n in loose.most_common():
        print(f"  {n:3}  {name}")
    print("longest functions in bot/notify/:")
    for length, name in longest_functions("bot/notify"):
        print(f"  {length:3}  {name}")
    print(f"direct store tests (tests/test_store*.py): {store_tests()}")
    print(f"'assert a and b' in tests/: {and_asserts()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
