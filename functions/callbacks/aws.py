"""boto3 clients: made on first use, once per process, and shared by the adapters.

Endpoints come only from boto3's standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``
variables, so the same code talks to AWS, to moto, or to the local stack.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client

# Short timeouts and few retries: a visitor is waiting, and a 503 with Retry-After beats a hang.
# DynamoDB, whatever it does (hangs, refuses, throttles), costs at most
#   2 attempts x (1 s connect + 1 s read) + one standard-mode backoff (at most 1 s) = 5 s,
# so the intake answers 503 within 6 s of arrival, well inside its 10 s timeout and API Gateway's 29 s.
# SES is not retried by the SDK: a send whose answer was lost may still have gone out, and a
# second try would email the office twice. Lambda retries the stream record instead, and the
# notifier checks whether it was already sent.
DYNAMODB_ATTEMPTS = 2
_CONFIG: dict[str, dict[str, Any]] = {
    "dynamodb": {
        "connect_timeout": 1,
        "read_timeout": 1,
        "retries": {"mode": "standard", "total_max_attempts": DYNAMODB_ATTEMPTS},
    },
    # botocore's `max_attempts` counts retries only: `total_max_attempts` counts the first try too.
    "ssm": {
        "connect_timeout": 1,
        "read_timeout": 1,
        "retries": {"mode": "standard", "total_max_attempts": 2},
    },
    "sesv2": {
        "connect_timeout": 3,
        "read_timeout": 10,
        "retries": {"mode": "standard", "total_max_attempts": 1},
    },
}


@cache
def _client(service: str) -> Any:
    import boto3
    from botocore.config import Config

    settings = copy.deepcopy(_CONFIG[service])  # botocore rewrites the retries dict it is given
    return boto3.session.Session().client(service, config=Config(**settings))  # type: ignore[call-overload]


def ssm_parameter(name: str) -> str:
    """A SecureString from SSM Parameter Store, through Powertools (cached for five minutes)."""
    return str(_ssm_provider().get(name, decrypt=True, max_age=300))


@cache
def _ssm_provider() -> Any:
    # Powertools' parameters module imports boto3: loaded on first use, not at cold start.
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=_client("ssm"))


def dynamodb() -> DynamoDBClient:
    client: DynamoDBClient = _client("dynamodb")
    return client


def sesv2() -> SESV2Client:
    client: SESV2Client = _client("sesv2")
    return client


@cache
def _serializer() -> Any:
    from boto3.dynamodb.types import TypeSerializer

    return TypeSerializer()


def dynamodb_item(values: dict[str, Any]) -> dict[str, Any]:
    """Python values as a low-level DynamoDB item (attribute-value form); ``None`` values left out."""
    return {key: _serializer().serialize(value) for key, value in values.items() if value is not None}


def reset_clients() -> None:
    """Forget the clients (tests that switch endpoints or credentials call this)."""
    _client.cache_clear()
    _ssm_provider.cache_clear()
