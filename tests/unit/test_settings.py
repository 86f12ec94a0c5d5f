"""Settings come from the environment once, with lists split; what only a deployment knows is required."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from callbacks.core.settings import (
    REQUIRED,
    MissingSettingsError,
    Settings,
    get_settings,
    settings_from_environment,
)
from tests.conftest import TEST_ENV

DEPLOYMENT = {name: TEST_ENV[name] for name in REQUIRED}


def test_given_comma_separated_lists_then_they_are_split_and_trimmed() -> None:
    settings = settings_from_environment(
        DEPLOYMENT
        | {
            "ALLOWED_ORIGINS": "https://site.example/, https://www.site.example ,https://staging.site.example",
            "OFFICE_EMAILS": "a@site.example, b@site.example",
        }
    )

    assert settings.allowed_origins == (
        "https://site.example",
        "https://www.site.example",
        "https://staging.site.example",
    )
    assert settings.office_emails == ("a@site.example", "b@site.example")


def test_given_only_the_required_settings_then_the_practices_defaults_apply() -> None:
    settings = settings_from_environment(DEPLOYMENT)

    assert settings.retention_days == 365
    assert settings.office_time_zone == "America/Chicago"
    assert settings.office_days == ("mon", "tue", "wed", "thu", "fri")
    assert settings.email_include_details is True
    assert settings.ses_configuration_set is None


@pytest.mark.parametrize("missing", ["TABLE_NAME", "ALLOWED_ORIGINS"])
def test_given_a_setting_every_function_needs_unset_or_empty_then_the_error_names_it(missing: str) -> None:
    for environment in ({k: v for k, v in DEPLOYMENT.items() if k != missing}, DEPLOYMENT | {missing: ""}):
        with pytest.raises(MissingSettingsError, match=rf"not set: {missing}$"):
            settings_from_environment(environment)


def test_given_no_deployment_settings_then_nothing_falls_back_to_an_example_address() -> None:
    with pytest.raises(MissingSettingsError, match=r"not set: TABLE_NAME, ALLOWED_ORIGINS$"):
        settings_from_environment({})
    bare = settings_from_environment({"TABLE_NAME": "t", "ALLOWED_ORIGINS": "https://site.example"})

    # Unset means empty, never a guess: the entry points that use them require them (below).
    assert (bare.sender_email, bare.office_emails, bare.api_base_url, bare.thank_you_url) == ("", (), "", "")
    assert "example.com" not in json.dumps(Settings.model_json_schema())


def _cold_start(module: str, *unset: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in TEST_ENV} | TEST_ENV
    environment |= {"AWS_LAMBDA_FUNCTION_NAME": "a-function"}
    for name in unset:
        environment.pop(name)
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2] / "functions",
        env=environment,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "unset", "named"),
    [
        ("callbacks.handlers.notify", ("SENDER_EMAIL",), "SENDER_EMAIL"),
        ("callbacks.handlers.sweep", ("API_BASE_URL", "OFFICE_EMAILS"), "OFFICE_EMAILS, API_BASE_URL"),
        ("callbacks.handlers.intake", ("THANK_YOU_URL",), "THANK_YOU_URL"),
        ("callbacks.handlers.delivery_events", ("TABLE_NAME",), "TABLE_NAME"),
    ],
)
def test_given_a_lambda_cold_start_without_a_setting_its_entry_point_needs_then_it_fails_naming_it(
    module: str, unset: tuple[str, ...], named: str
) -> None:
    result = _cold_start(module, *unset)

    assert result.returncode != 0
    assert f"MissingSettingsError: required environment variables not set: {named}" in result.stderr


def test_given_a_lambda_cold_start_with_only_what_the_intake_needs_then_it_starts() -> None:
    # The intake sends no email: no sender, office or API base URL in its template environment.
    result = _cold_start("callbacks.handlers.intake", "SENDER_EMAIL", "OFFICE_EMAILS", "API_BASE_URL")

    assert result.returncode == 0, result.stderr


def test_given_email_details_switched_off_then_the_setting_reads_false() -> None:
    assert (
        settings_from_environment(DEPLOYMENT | {"EMAIL_INCLUDE_DETAILS": "false"}).email_include_details
        is False
    )


def test_given_a_retention_out_of_range_then_the_settings_are_refused() -> None:
    with pytest.raises(ValidationError):
        settings_from_environment(DEPLOYMENT | {"RETENTION_DAYS": "0"})


def test_given_settings_read_once_then_later_changes_need_a_cache_clear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = get_settings()
    monkeypatch.setenv("RETENTION_DAYS", "30")

    assert get_settings() is first
    get_settings.cache_clear()
    assert get_settings().retention_days == 30


def test_given_settings_then_they_cannot_be_changed() -> None:
    with pytest.raises(ValidationError):
        get_settings().retention_days = 1  # type: ignore[misc]
