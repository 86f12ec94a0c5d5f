"""Settings: the environment, read once on first use into a frozen model.

Every environment variable the functions read is a field of ``Settings``, named in capitals:
``table_name`` is ``TABLE_NAME``. The template and the env files use those names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from callbacks.core.office import OFFICE_TIME_ZONE, WEEKDAYS


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class MissingSettingsError(RuntimeError):
    """A required setting is not in the environment: the function must not run on a guess."""


class Settings(BaseModel):
    """What a deployment decides. What only a deployment can know (its table, origins, addresses,
    links) is required, with no default: the template sets it, and so do the local stack and the
    tests. The rest has the practice's defaults."""

    model_config = ConfigDict(frozen=True)

    table_name: str
    allowed_origins: Annotated[tuple[str, ...], Field(min_length=1)]
    thank_you_url: str
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 365
    sender_email: str
    office_emails: Annotated[tuple[str, ...], Field(min_length=1)]
    ses_configuration_set: str | None = None
    email_include_details: bool = True
    # Spam defences (http_errors never tells a caught sender; see spam.py).
    signing_secret_parameter: str
    min_fill_seconds: Annotated[float, Field(ge=0, le=60)] = 2.0
    render_token_max_age_hours: Annotated[int, Field(ge=1, le=24 * 30)] = 48
    phone_daily_cap: Annotated[int, Field(ge=3)] = 5
    address_hourly_cap: Annotated[int, Field(ge=1)] = 5
    turnstile_secret_parameter: str | None = None
    turnstile_verify_url: str = "https://challenges.cloudflare.com/turnstile/v0/siteverify"
    # The call-back deadline's calendar (deadline.py): office weekdays, less US federal holidays.
    office_days: Annotated[tuple[str, ...], Field(min_length=1)] = ("mon", "tue", "wed", "thu", "fri")
    office_time_zone: str = OFFICE_TIME_ZONE
    # The API's public base URL (stage included), for the mark-as-called links in emails.
    api_base_url: str
    # A claim on a request's alert older than this is abandoned: longer than any function's timeout
    # (a Lambda invocation never outlives it), so its holder is gone. The sweep takes it over.
    alert_claim_stale_seconds: Annotated[int, Field(ge=1)] = 300
    # The sweep leaves younger requests to the stream, which sends within seconds when SES is up.
    alert_sweep_min_age_seconds: Annotated[int, Field(ge=0)] = 180

    _split_origins = field_validator("allowed_origins", "office_emails", "office_days", mode="before")(
        _split_list
    )

    @field_validator("office_days")
    @classmethod
    def _known_days(cls, days: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(day.strip().lower()[:3] for day in days)
        unknown = [day for day in names if day not in WEEKDAYS]
        if unknown:
            raise ValueError(f"office days are mon, tue, wed, thu, fri, sat, sun; not {', '.join(unknown)}")
        return names

    @field_validator("office_time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r}") from None
        return name

    @field_validator("api_base_url")
    @classmethod
    def _base_without_slash(cls, url: str) -> str:
        return url.rstrip("/")

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


REQUIRED = tuple(name for field, name in ENV_NAMES.items() if Settings.model_fields[field].is_required())


def settings_from_environment(environ: Mapping[str, str] = os.environ) -> Settings:
    """Build settings from the variables that are set; unset optional ones keep their defaults.

    A required variable unset (or empty) raises ``MissingSettingsError`` naming every one missing.
    """
    values = {field: environ[name] for field, name in ENV_NAMES.items() if environ.get(name, "") != ""}
    missing = [name for name in REQUIRED if name.lower() not in values]
    if missing:
        raise MissingSettingsError(f"required environment variables not set: {', '.join(missing)}")
    return Settings.model_validate(values)


@cache
def get_settings() -> Settings:
    """The settings of this process, read on first use (tests call ``get_settings.cache_clear()``)."""
    return settings_from_environment()


# On Lambda a function without a required setting fails at cold start, naming it, rather than at
# its first request or, worse, on a guess. Elsewhere (tests, tools) settings are read on first use.
if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
    get_settings()
