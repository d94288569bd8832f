"""The package's shape: who may import the command line and the demo, and small modules."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import seatkeeper

PACKAGE = Path(seatkeeper.__file__).parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
# Longer today, and owned elsewhere: they may shrink, and nothing may join them.
LONG_FUNCTIONS = {
    ("services/history.py", "usage_report"),
    ("web/pages/chart.py", "usage_chart"),
}


def modules() -> Iterator[tuple[str, list[str], ast.Module]]:
    """Every module of the package: its path inside it, its lines, its syntax tree."""
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        yield path.relative_to(PACKAGE).as_posix(), text.splitlines(), ast.parse(text, str(path))


def imported(tree: ast.Module) -> set[str]:
    """Every seatkeeper module a module imports (`from seatkeeper import x` counts as x)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name.split(".")[0] == "seatkeeper"}


def reaches(names: set[str], package: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for name in names)


def test_only_the_command_line_imports_the_command_line_and_the_demo() -> None:
    for name, _, tree in modules():
        if name == "__main__.py" or name.startswith("cli/"):
            continue
        uses = imported(tree)
        assert not reaches(uses, "seatkeeper.cli"), name
        if not name.startswith("demo/"):
            assert not reaches(uses, "seatkeeper.demo"), name


def test_modules_and_functions_stay_small() -> None:
    for name, lines, tree in modules():
        assert len(lines) <= MAX_MODULE_LINES, f"{name}: {len(lines)} lines"
        if name.startswith("storage/migrations/"):
            continue  # a migration is one long, flat list of statements
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if (name, node.name) not in LONG_FUNCTIONS:
                assert length <= MAX_FUNCTION_LINES, f"{name}: {node.name} has {length} lines"
