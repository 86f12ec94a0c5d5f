"""Imports run one way: tests use infra (the local stack, provisioning, event helpers), never back."""

from __future__ import annotations

import ast
from pathlib import Path

INFRA = Path(__file__).resolve().parents[2] / "infra"


def imports_of(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_given_every_module_under_infra_then_none_imports_the_tests() -> None:
    importing_tests = {
        str(path.relative_to(INFRA))
        for path in INFRA.rglob("*.py")
        if any(module == "tests" or module.startswith("tests.") for module in imports_of(path))
    }

    assert importing_tests == set()
