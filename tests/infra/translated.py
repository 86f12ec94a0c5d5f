"""template.yaml translated by the SAM CLI's own translator (sam_translate.py, run in .venv-sam)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
TRANSLATE = Path(__file__).with_name("sam_translate.py")


def translate(
    *, stack_name: str | None = None, template: Path | None = None, **parameters: str
) -> dict[str, Any]:
    """The whole translated template, as CloudFormation receives it for ``stack_name``."""
    if not SAM_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{SAM_PYTHON} is missing: `make lint` installs it")
        pytest.skip("the SAM CLI is not installed here (make lint installs it into .venv-sam)")
    args = [str(SAM_PYTHON), str(TRANSLATE)]
    for name, value in parameters.items():
        args += ["--parameter", f"{name}={value}"]
    if stack_name is not None:
        args += ["--stack-name", stack_name]
    if template is not None:
        args += ["--template", str(template)]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
    assert result.returncode == 0, "SAM could not translate the template"
    translated: dict[str, Any] = json.loads(result.stdout)
    return translated
