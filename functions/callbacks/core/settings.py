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

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from callbacks.core.office import OFFICE_TIME_ZONE, WEEKDAYS


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class MissingSettingsError(RuntimeError):
    """A required setting is not in the environment: the function must not run on a guess."""


class Settings(BaseModel):
    """What a deployment decides. What only a deployment can know (its table, origins, addresses,
    links) has no default: every function needs the table and the origins; the addresses and links
    are required by the entry points that use them (``require``), and the template sets each one
    where it is used, as the local stack and the tests do. The rest has the practice's defaults."""

    model_config = ConfigDict(frozen=True)

    table_name: str
    allowed_origins: Annotated[tuple[str, ...], Field(min_length=1)]
    thank_you_url: str = ""  # "" is unset: the intake requires it
    retention_days: Annotated[int, Field(ge=1, le=3650)] = 365
    sender_email: str = ""  # unset until an entry point that sends requires it
    office_emails: tuple[str, ...] = ()
    ses_configuration_set: str | None = None
    email_include_details: bool = True
    # Spam defences (a caught sender is never told; see logic/spam.py).
    # The HMAC secret (CloudFormation generates it in Secrets Manager and resolves it into the
    # configuration at deploy): optional, because a function without it must still store every
    # request; the spam layers that need it then stand aside, counted. ``previous`` is the value
    # before the last rotation, still accepted for what was signed with it.
    signing_secret: SecretStr | None = None
    signing_secret_previous: SecretStr | None = None
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
    api_base_url: str = ""  # unset until an entry point that makes links requires it
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

    @field_validator("signing_secret", "signing_secret_previous", mode="before")
    @classmethod
    def _no_placeholder(cls, value: object) -> object:
        # The stack's secret starts with no previous value: its placeholder is "none".
        return None if value in (None, "", "none") else value


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


def require(*fields: str) -> None:
    """On Lambda, fail this cold start unless the settings every function needs and ``fields``
    (the ones this entry point uses) are all set, naming every one missing.

    A function without a required setting must fail at once, by name, rather than at its first
    request or, worse, on a guess. Elsewhere (tests, tools, the local stack) settings are read on
    first use, so that a test can set them first.
    """
    if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    settings = get_settings()
    missing = [ENV_NAMES[field] for field in fields if getattr(settings, field) in ("", ())]
    if missing:
        raise MissingSettingsError(f"required environment variables not set: {', '.join(missing)}")
