"""The package's floors hold: an import against the layers fails `make lint` (import-linter)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
FLOORS = ("handlers", "logic", "adapters", "emails", "core", "models")


def lint_imports(functions: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(functions)},
        timeout=120,
        check=False,
    )


def test_given_the_package_then_every_module_lives_on_one_of_the_floors() -> None:
    package = ROOT / "functions" / "callbacks"
    loose = sorted(path.name for path in package.glob("*.py") if path.name != "__init__.py")

    assert loose == []
    assert {
        path.name for path in package.iterdir() if path.is_dir() and (path / "__init__.py").exists()
    } == set(FLOORS)


def test_given_the_package_as_it_is_then_the_layers_contract_is_kept() -> None:
    result = lint_imports(ROOT / "functions")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "upward_import"),
    [
        ("models/choices.py", "from callbacks.core import settings"),
        ("core/office.py", "from callbacks.emails import layout"),
        ("emails/layout.py", "from callbacks.adapters import ses"),
        ("adapters/ses.py", "from callbacks.logic import alerting"),
        ("logic/overdue.py", "from callbacks.handlers import digest"),
    ],
)
def test_given_an_import_up_the_floors_then_the_contract_is_broken(
    tmp_path: Path, module: str, upward_import: str
) -> None:
    shutil.copytree(ROOT / "functions" / "callbacks", tmp_path / "callbacks")
    target = tmp_path / "callbacks" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{upward_import}  # noqa\n", encoding="utf-8")

    result = lint_imports(tmp_path)

    assert result.returncode != 0
    assert "0 kept, 1 broken" in result.stdout
