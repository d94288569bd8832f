"""The package's shape: small modules and short functions. (Who may import whom is
checked by import-linter's contracts in pyproject.toml, which `make test` runs.)"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import seatkeeper

PACKAGE = Path(seatkeeper.__file__).parent
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def modules() -> Iterator[tuple[str, list[str], ast.Module]]:
    """Every module of the package: its path inside it, its lines, its syntax tree."""
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        yield path.relative_to(PACKAGE).as_posix(), text.splitlines(), ast.parse(text, str(path))


def test_modules_and_functions_stay_small() -> None:
    for name, lines, tree in modules():
        assert len(lines) <= MAX_MODULE_LINES, f"{name}: {len(lines)} lines"
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{name}: {node.name} has {length} lines"
