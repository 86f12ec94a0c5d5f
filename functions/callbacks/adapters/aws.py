"""AWS clients: made on first use, once per process, and shared by the adapters.

The clients are botocore's, the engine under boto3, made from a botocore session: the same clients
``boto3.client`` returns, without importing boto3's resource layer (13 ms of every cold start,
docs/performance.md). For the same reason the attribute-value conversion of DynamoDB items is
here rather than boto3's ``TypeSerializer``, whose module imports all of boto3; the tests hold it
to boto3's answers (tests/unit/test_aws_items.py).

Endpoints come only from the SDK's standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``
variables, so the same code talks to AWS, to moto, or to the local stack.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sesv2 import SESV2Client

# Each client's budget. A call's worst case is attempts x (connect + read timeout) plus the SDK's
# waits between attempts, at most 1 s before the 2nd and 2 s before the 3rd (botocore's standard
# mode, throttling scale; `worst_case_seconds` computes it from these same settings). botocore's
# `max_attempts` counts retries only: `total_max_attempts` counts the first try too.
DYNAMODB_ATTEMPTS = 2
_CONFIG: dict[str, dict[str, Any]] = {
    # The intake's: a visitor is waiting, and a 503 with Retry-After beats a hang. DynamoDB,
    # whatever it does (hangs, refuses, throttles), costs at most 2 x (1 + 1) + 1 = 5 s, so the
    # intake answers 503 within 6 s of arrival, inside its 10 s timeout and API Gateway's 29 s.
    "dynamodb": {
        "connect_timeout": 1,
        "read_timeout": 1,
        "retries": {"mode": "standard", "total_max_attempts": DYNAMODB_ATTEMPTS},
    },
    # Parameter Store (Turnstile's secret, while Turnstile is on): 2 x (1 + 1) + 1 = 5 s.
    "ssm": {
        "connect_timeout": 1,
        "read_timeout": 1,
        "retries": {"mode": "standard", "total_max_attempts": 2},
    },
    # The notifier's and the sweep's (no visitor waits, but a whole batch must fit the timeout):
    # 2 x (0.5 + 1) + 1 = 4 s per call; DynamoDB answers in milliseconds, so 1 s is already 100x.
    "dynamodb-background": {
        "connect_timeout": 0.5,
        "read_timeout": 1,
        "retries": {"mode": "standard", "total_max_attempts": 2},
    },
    # SES: 1 + 5 = 6 s. Not retried by the SDK: a send whose answer was lost may still have gone
    # out, and a second try would email the office twice; the claim on the request decides instead.
    "sesv2": {
        "connect_timeout": 1,
        "read_timeout": 5,
        "retries": {"mode": "standard", "total_max_attempts": 1},
    },
}
_SERVICE = {"dynamodb": "dynamodb", "dynamodb-background": "dynamodb", "sesv2": "sesv2", "ssm": "ssm"}


def worst_case_seconds(budget: str) -> float:
    """The longest one call of a client can take: every attempt timing out, every wait at its longest."""
    config = _CONFIG[budget]
    attempts = int(config["retries"]["total_max_attempts"])
    waits = sum(min(2.0 ** (attempt - 1), 20.0) for attempt in range(1, attempts))
    return float(attempts * (config["connect_timeout"] + config["read_timeout"]) + waits)


# A session is not thread-safe: its clients are made one at a time (the local stack has threads).
_MAKING_CLIENT = threading.Lock()


@cache
def _session() -> Any:
    # One session for every client: its loaders cache the endpoint, partition and retry data the
    # first client reads, so the second client (SSM after DynamoDB, SES) does not parse them again.
    import botocore.session

    return botocore.session.get_session()


@cache
def _client(budget: str) -> Any:
    from botocore.config import Config

    settings = copy.deepcopy(_CONFIG[budget])  # botocore rewrites the retries dict it is given
    with _MAKING_CLIENT:
        return _session().create_client(_SERVICE[budget], config=Config(**settings))


def ssm_parameter(name: str) -> str:
    """A SecureString from SSM Parameter Store, through Powertools (cached for five minutes)."""
    return str(_ssm_provider().get(name, decrypt=True, max_age=300))


@cache
def _ssm_provider() -> Any:
    # Powertools' parameters module imports boto3: loaded on first use, not at cold start.
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    return SSMProvider(boto3_client=_client("ssm"))


def dynamodb() -> DynamoDBClient:
    """The request path's client (the intake)."""
    client: DynamoDBClient = _client("dynamodb")
    return client


def background_dynamodb() -> DynamoDBClient:
    """The staff alerts' client (notifier, sweep): shorter timeouts, so a batch fits its budget."""
    client: DynamoDBClient = _client("dynamodb-background")
    return client


def sesv2() -> SESV2Client:
    client: SESV2Client = _client("sesv2")
    return client


def attribute_value(value: Any) -> dict[str, Any]:
    """One Python value in DynamoDB's attribute-value form, as boto3's ``TypeSerializer`` writes it.

    The types the table holds: text, whole numbers, booleans, maps and lists (and ``None``). A
    float is refused as boto3 refuses it (DynamoDB numbers are exact); so is anything else.
    """
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, Mapping):
        return {"M": {key: attribute_value(item) for key, item in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [attribute_value(item) for item in value]}
    raise TypeError(f"Unsupported type {type(value)} for a DynamoDB attribute")


def python_value(attribute: Mapping[str, Any]) -> Any:
    """One attribute value back in Python, as boto3's ``TypeDeserializer`` reads it (numbers: ``Decimal``)."""
    ((kind, value),) = attribute.items()
    if kind not in _READERS:
        raise TypeError(f"Unknown DynamoDB attribute type {kind!r}")
    return _READERS[kind](value)


_READERS: dict[str, Callable[[Any], Any]] = {
    "S": str,
    "N": Decimal,
    "BOOL": bool,
    "NULL": lambda _: None,
    "M": lambda value: {key: python_value(item) for key, item in value.items()},
    "L": lambda value: [python_value(item) for item in value],
    "SS": set,
    "NS": lambda value: {Decimal(number) for number in value},
}


def dynamodb_item(values: dict[str, Any]) -> dict[str, Any]:
    """Python values as a low-level DynamoDB item (attribute-value form); ``None`` values left out."""
    return {key: attribute_value(value) for key, value in values.items() if value is not None}


def plain_item(item: Any) -> dict[str, Any]:
    """A low-level DynamoDB item as Python values (numbers come back as ``Decimal``)."""
    return {key: python_value(value) for key, value in item.items()}


def reset_clients() -> None:
    """Forget the clients (tests that switch endpoints or credentials call this)."""
    _client.cache_clear()
    _ssm_provider.cache_clear()
    _session.cache_clear()
