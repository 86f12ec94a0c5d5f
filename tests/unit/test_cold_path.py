"""What a cold start imports: only what a request needs (counts, not timings: see `make bench`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def modules_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=FUNCTIONS, timeout=60
    )
    return set(json.loads(result.stdout))


def test_given_the_intake_entry_point_when_imported_then_no_aws_sdk_tracing_or_email_code_is_loaded() -> None:
    loaded = modules_after_import("callbacks.intake")

    # boto3 waits for the first request; X-Ray is not used; the intake never sends email.
    assert "boto3" not in loaded
    assert not {
        name for name in loaded if name.startswith(("aws_xray_sdk", "callbacks.mailer", "callbacks.notify"))
    }
    assert "callbacks.settings" in loaded
    assert "phonenumbers.geocoder" not in loaded
    assert "phonenumbers.carrier" not in loaded


def test_given_the_intake_entry_point_when_imported_then_no_settings_or_client_are_made_yet() -> None:
    code = (
        "import callbacks.intake, callbacks.settings as s, callbacks.aws as a; "
        "print(s.get_settings.cache_info().currsize, a._client.cache_info().currsize)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=FUNCTIONS, timeout=60
    )

    assert result.stdout.split() == ["0", "0"]
