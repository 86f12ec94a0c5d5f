"""Shared fixtures: settings from a clean environment, moto built from template.yaml, no network."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from hypothesis import settings as hypothesis_settings
from moto import mock_aws
from pytest_socket import disable_socket, enable_socket

from callbacks.adapters import aws, signing
from callbacks.core.settings import Settings, get_settings, settings_from_environment
from infra.provision import Provisioned, provision

TESTS = Path(__file__).resolve().parent
# No time limit per generated example: hypothesis's default (200 ms) fails a test by the clock,
# and a shared machine's clock is no judge; make bench times things. Examples stay bounded in count.
hypothesis_settings.register_profile("project", deadline=None)
hypothesis_settings.load_profile("project")
EVENTS = TESTS.parent / "infra" / "events"
# Unit tests talk to nothing; integration tests reach AWS only through moto in-process.
OFFLINE_SUITES = frozenset({"unit", "integration"})
TEST_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "TABLE_NAME": "callback-requests-test",
    "ALLOWED_ORIGINS": "https://www.accentplasticsurgery.example,https://accentplasticsurgery.example",
    "THANK_YOU_URL": "https://www.accentplasticsurgery.example/thank-you",
    "RETENTION_DAYS": "365",
    "SENDER_EMAIL": "alerts@accentplasticsurgery.example",
    "OFFICE_EMAILS": "frontdesk@accentplasticsurgery.example,nurse@accentplasticsurgery.example",
    "SES_CONFIGURATION_SET": "staff-alerts",
    "EMAIL_INCLUDE_DETAILS": "true",
    "POWERTOOLS_SERVICE_NAME": "callback-requests",
    "POWERTOOLS_METRICS_NAMESPACE": "CallbackRequests",
    "POWERTOOLS_DEV": "false",
    "SIGNING_SECRET": "test-signing-secret-0123456789abcdef",
    "API_BASE_URL": "http://127.0.0.1:3000",
}


@pytest.fixture(autouse=True)
def _no_network(request: pytest.FixtureRequest) -> Iterator[None]:
    offline = request.path.relative_to(TESTS).parts[0] in OFFLINE_SUITES
    if offline:
        disable_socket(allow_unix_socket=True)
    yield
    if offline:
        enable_socket()


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Every test starts from the same settings and fresh clients."""
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SESV2",
        "MIN_FILL_SECONDS",
        "SIGNING_SECRET_PREVIOUS",
        "ADDRESS_HOURLY_CAP",
        "PHONE_DAILY_CAP",
        "TURNSTILE_SECRET_PARAMETER",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    aws.reset_clients()
    signing.forget_keys()
    yield TEST_ENV
    get_settings.cache_clear()
    aws.reset_clients()
    signing.forget_keys()


@pytest.fixture
def moto_aws(environment: dict[str, str]) -> Iterator[Provisioned]:
    """moto in-process, with template.yaml's table, queue, identity and configuration set."""
    with mock_aws():
        provisioned = provision(
            boto3.session.Session(),
            table_name=environment["TABLE_NAME"],
            queue_name="staff-alert-dlq",
            sender_email=environment["SENDER_EMAIL"],
            configuration_set=environment["SES_CONFIGURATION_SET"],
        )
        yield provisioned


def deployment_settings(**changes: Any) -> Settings:
    """The tests' deployment settings (TEST_ENV), with ``changes``."""
    return Settings.model_validate(settings_from_environment(TEST_ENV).model_dump() | changes)


def load_event(name: str) -> dict[str, Any]:
    """A test event from tests/events, by name."""
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return event
