"""The committed OpenAPI document, fuzzed against the running local stack (schemathesis).

Every response check schemathesis has, in its coverage and fuzzing phases, positive and negative
data, bounded in examples; none may fail. Two checks are left out, each for a reason a reader can
verify: `unsupported_method` expects 405 for a method a route lacks, where API Gateway answers 403
(and so does the local stack); `positive_data_acceptance` expects every schema-valid body to be
accepted, but no JSON Schema can say which digit strings are real phone numbers or that a name
needs a letter in any script. The honeypot's deliberate "accepted" is dropped by a hook
(tests/e2e/schemathesis_hooks.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "infra" / "openapi.json"
EXAMPLES = 40


def test_the_openapi_document_fuzzed_against_the_local_stack_finds_no_failure(
    local_stack: RunningStack,
) -> None:
    command = [
        str(Path(sys.executable).with_name("st")),
        "run",
        str(DOCUMENT),
        *("--url", local_stack.api_base),
        *("--checks", "all", "--exclude-checks", "positive_data_acceptance,unsupported_method"),
        *("--mode", "all", "--max-examples", str(EXAMPLES), "--seed", "20261201"),
        "--no-color",
    ]
    environment = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.e2e.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300, check=False
    )

    report = result.stdout[-4000:]
    summary = report.split("SUMMARY", 1)[-1]
    assert result.returncode == 0, report
    assert re.search(r"\d+ generated, \d+ passed", summary), report
    assert not re.search(r"\b\d+ failures?\b", summary), report
