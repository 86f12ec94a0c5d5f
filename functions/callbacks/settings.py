"""Settings: the environment, read once on first use into a frozen model.

Every environment variable the functions read is a field of ``Settings``, named in capitals:
``table_name`` is ``TABLE_NAME``. The template and the env files use those names.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class Settings(BaseModel):
    """What a deployment decides. Defaults suit the local stack and the tests."""

    model_config = ConfigDict(frozen=True)

    table_name: str = "callback-requests"
    allowed_origins: Annotated[tuple[str, ...], Field(min_length=1)] = (
        "http://127.0.0.1:3000",
        "http://localhost:3000",
    )
    thank_you_url: str = "http://127.0.0.1:3000/thank-you"
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 365
    sender_email: str = "callbacks@example.com"
    office_emails: tuple[str, ...] = ("office@example.com",)
    ses_configuration_set: str | None = None
    email_include_details: bool = True
    # Spam defences (http_errors never tells a caught sender; see spam.py).
    signing_secret_parameter: str = "/callback-requests/signing-secret"  # noqa: S105 - a name, not a secret
    min_fill_seconds: Annotated[float, Field(ge=0, le=60)] = 2.0
    render_token_max_age_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 48
    phone_daily_cap: Annotated[int, Field(ge=3)] = 5
    address_hourly_cap: Annotated[int, Field(ge=1)] = 5
    turnstile_secret_parameter: str | None = None
    turnstile_verify_url: str = "https://challenges.cloudflare.com/turnstile/v0/siteverify"

    _split_origins = field_validator("allowed_origins", "office_emails", mode="before")(_split_list)

    @field_validator("allowed_origins")
    @classmethod
    def _origins_have_no_slash(cls, origins: tuple[str, ...]) -> tuple[str, ...]:
        # Browsers send Origin without a trailing slash; a configured one would never match.
        return tuple(origin.rstrip("/") for origin in origins)

    @field_validator("ses_configuration_set", "turnstile_secret_parameter", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return value or None


# The environment variable of each setting.
ENV_NAMES = {field: field.upper() for field in Settings.model_fields}


def settings_from_environment(environ: dict[str, str] | os._Environ[str] = os.environ) -> Settings:
    """Build settings from the variables that are set; unset ones keep their defaults."""
    values = {field: environ[name] for field, name in ENV_NAMES.items() if environ.get(name, "") != ""}
    return Settings.model_validate(values)


@cache
def get_settings() -> Settings:
    """The settings of this process, read on first use (tests call ``get_settings.cache_clear()``)."""
    return settings_from_environment()
