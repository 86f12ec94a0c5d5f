"""What a cold start imports: only what a request needs (counts, not timings: see `make bench`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from callbacks.adapters import aws

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def modules_after_import(module: str) -> set[str]:
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=FUNCTIONS, timeout=60
    )
    return set(json.loads(result.stdout))


def test_given_the_intake_entry_point_when_imported_then_no_aws_sdk_tracing_or_email_code_is_loaded() -> None:
    loaded = modules_after_import("callbacks.handlers.intake")

    # boto3 waits for the first request; X-Ray is not used; the intake never sends email.
    assert "boto3" not in loaded
    assert not {
        name
        for name in loaded
        if name.startswith(("aws_xray_sdk", "callbacks.emails.staff_alert", "callbacks.handlers.notify"))
    }
    assert "callbacks.core.settings" in loaded
    assert "phonenumbers.geocoder" not in loaded
    assert "phonenumbers.carrier" not in loaded
    # Loaded by the first request that carries an email, never by one without.
    assert "email_validator" not in loaded


def test_given_the_intake_entry_point_when_imported_then_no_settings_or_client_are_made_yet() -> None:
    code = (
        "import callbacks.handlers.intake, callbacks.core.settings as s, callbacks.adapters.aws as a; "
        "print(s.get_settings.cache_info().currsize, a._client.cache_info().currsize)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=FUNCTIONS, timeout=60
    )

    assert result.stdout.split() == ["0", "0"]


def test_given_every_client_made_when_counted_then_one_session_serves_them_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import botocore.session

    made: list[object] = []
    get_session = botocore.session.get_session

    def counting(*args: object, **kwargs: object) -> object:
        session = get_session(*args, **kwargs)  # type: ignore[arg-type]
        made.append(session)
        return session

    monkeypatch.setattr(botocore.session, "get_session", counting)
    aws.reset_clients()

    clients = {aws.dynamodb(), aws.sesv2(), aws._client("ssm")}

    # The second and third clients reuse the first one's loaded endpoint and service data.
    assert len(made) == 1
    assert len(clients) == 3
    # Each keeps its own timeouts and retries.
    assert aws.sesv2().meta.config.retries["total_max_attempts"] == 1  # type: ignore[attr-defined]
    assert aws.dynamodb().meta.config.retries["total_max_attempts"] == aws.DYNAMODB_ATTEMPTS  # type: ignore[attr-defined]
