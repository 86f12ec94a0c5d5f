"""Settings come from the environment once, with lists split and defaults for the local stack."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from callbacks.settings import get_settings, settings_from_environment


def test_given_comma_separated_lists_then_they_are_split_and_trimmed() -> None:
    settings = settings_from_environment(
        {
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


def test_given_nothing_set_then_the_local_defaults_apply() -> None:
    settings = settings_from_environment({})

    assert settings.retention_days == 365
    assert "http://127.0.0.1:3000" in settings.allowed_origins
    assert settings.email_include_details is True
    assert settings.ses_configuration_set is None


def test_given_email_details_switched_off_then_the_setting_reads_false() -> None:
    assert settings_from_environment({"EMAIL_INCLUDE_DETAILS": "false"}).email_include_details is False


def test_given_a_retention_out_of_range_then_the_settings_are_refused() -> None:
    with pytest.raises(ValidationError):
        settings_from_environment({"RETENTION_DAYS": "0"})


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
