"""`make doctor` against the local stack exactly as `python -m infra.local` (`make run`) sets it up."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT, RunningStack, free_ports

pytestmark = pytest.mark.e2e


def test_doctor_on_the_local_stack_passes_or_says_why_not(local_stack: RunningStack) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-m", "infra.tools.doctor", "--endpoint-url", local_stack.moto_url],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    checks = [line.strip() for line in result.stdout.splitlines() if line.startswith("  [")]
    assert len(checks) == 11
    for line in checks:
        assert line.startswith("[ ok ]") or (line.startswith("[n/a ]") and ": not applicable here: " in line)
    assert result.stdout.splitlines()[-1] == "6 ok, 0 failed, 5 not applicable here"


def test_doctor_without_a_local_stack_says_to_start_it() -> None:
    unused = f"http://127.0.0.1:{free_ports(1)[0]}"
    result = subprocess.run(
        [sys.executable, "-m", "infra.tools.doctor", "--endpoint-url", unused],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "(is `make run` running?)" in result.stderr
