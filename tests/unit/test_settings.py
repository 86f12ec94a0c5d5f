"""Settings come from the environment once, with lists split; what only a deployment knows is required."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callbacks.core.settings import REQUIRED, MissingSettingsError, get_settings, settings_from_environment
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


@pytest.mark.parametrize("missing", ["SENDER_EMAIL", "TABLE_NAME", "OFFICE_EMAILS", "API_BASE_URL"])
def test_given_a_required_setting_unset_or_empty_then_the_error_names_it(missing: str) -> None:
    for environment in ({k: v for k, v in DEPLOYMENT.items() if k != missing}, DEPLOYMENT | {missing: ""}):
        with pytest.raises(MissingSettingsError, match=rf"not set: {missing}$"):
            settings_from_environment(environment)


def test_given_no_deployment_settings_then_nothing_falls_back_to_an_example_address() -> None:
    with pytest.raises(MissingSettingsError) as raised:
        settings_from_environment({})

    assert set(str(raised.value).split(": ", 1)[1].split(", ")) == set(REQUIRED)
    assert {"SENDER_EMAIL", "OFFICE_EMAILS", "TABLE_NAME", "ALLOWED_ORIGINS"} <= set(REQUIRED)


def test_given_a_lambda_cold_start_without_a_required_setting_then_the_import_fails_naming_it() -> None:
    import os
    import subprocess
    import sys
    from pathlib import Path

    environment = {k: v for k, v in os.environ.items() if k not in TEST_ENV} | DEPLOYMENT
    environment |= {"AWS_LAMBDA_FUNCTION_NAME": "IntakeFunction"}
    del environment["SENDER_EMAIL"]
    functions = Path(__file__).resolve().parents[2] / "functions"
    result = subprocess.run(
        [sys.executable, "-c", "import callbacks.handlers.notify"],
        capture_output=True,
        text=True,
        cwd=functions,
        env=environment,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert "MissingSettingsError: required environment variables not set: SENDER_EMAIL" in result.stderr


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
