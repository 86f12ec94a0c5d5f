"""Helpers of the staff-alert tests: requests, the stream as Lambda delivers it, a new process.

Events are built the way Lambda builds them: records read from the table's stream, with the
fields Lambda adds. Sent emails are read back from moto's SES backend.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.session import get_session
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from callbacks.adapters import aws, ses, store
from callbacks.handlers import notify, sweep
from callbacks.logic import alerting
from callbacks.models.email import StaffAlert
from callbacks.models.record import ConsentRecord, StoredCallbackRequest
from infra.local.lambda_events import lambda_context
from infra.provision import Provisioned

NOW = 1_782_918_000  # 2026-07-01T15:00:00Z
CANARY_NAME = "Canaryname Zqxwv"
CANARY_PHONE = "+16623771234"
CANARY_PHONE_FORMS = ("6623771234", "377-1234", "377 1234")
CANARY_EMAIL = "canary.visitor@example.org"
CANARY_MESSAGE = "Canarymessage about my scars"
PERSONAL = (
    CANARY_NAME,
    "Canaryname",
    "Zqxwv",
    *CANARY_PHONE_FORMS,
    CANARY_EMAIL,
    "canary.visitor",
    "Canarymessage",
)


# The functions' timeouts in template.yaml: each invocation gets a fresh context with that deadline.
NOTIFY_TIMEOUT_S = SWEEP_TIMEOUT_S = 180


@dataclass
class AwsCalls:
    """Every AWS API call the functions' clients make, with its parameters."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, copy.deepcopy(params)))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def of(self, name: str) -> list[dict[str, Any]]:
        return [params for called, params in self.calls if called == name]

    def clear(self) -> None:
        self.calls.clear()

    def attach(self) -> None:
        """Listen to the functions' clients (again, after ``new_process`` made new ones)."""
        for client in (aws.dynamodb(), aws.background_dynamodb(), aws.sesv2()):
            client.meta.events.register("before-parameter-build", self)

    def detach(self) -> None:
        for client in (aws.dynamodb(), aws.background_dynamodb(), aws.sesv2()):
            client.meta.events.unregister("before-parameter-build", self)


def a_request(number: int = 1, **fields: Any) -> StoredCallbackRequest:
    created_at = "2026-07-01T15:00:00Z"
    values: dict[str, Any] = {
        "id": f"{number:08x}-7b4d-4e8a-9c0f-1a2b3c4d5e6f",
        "created_at": created_at,
        "name": CANARY_NAME,
        "phone": CANARY_PHONE,
        "email": CANARY_EMAIL,
        "best_time": "afternoon",
        "interest": "scars-burns",
        "message": CANARY_MESSAGE,
        "source_url": "https://www.accentplasticsurgery.example/fractional-co2-laser/",
        "consent": ConsentRecord(agreed_at=created_at),
        "expires_at": NOW + 365 * 86400,
        **fields,
    }
    return StoredCallbackRequest(**values)


def save(*requests: StoredCallbackRequest) -> None:
    for request in requests:
        assert store.save_new_request(request, dedupe_keys=[], now=NOW).created


def stream_records(provisioned: Provisioned) -> list[dict[str, Any]]:
    """Every record of the table's stream so far, as Lambda's event source mapping hands them over."""
    streams: Any = get_session().create_client("dynamodbstreams")
    shards = streams.describe_stream(StreamArn=provisioned.stream_arn)["StreamDescription"]["Shards"]
    records: list[dict[str, Any]] = []
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=provisioned.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        for record in streams.get_records(ShardIterator=iterator)["Records"]:
            created: datetime = record["dynamodb"]["ApproximateCreationDateTime"]
            record["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
            record["eventSourceARN"] = provisioned.stream_arn
            records.append(record)
    return records


def new_request_records(provisioned: Provisioned) -> list[dict[str, Any]]:
    """What the template's filter lets through: INSERTs of request items."""
    return [
        record
        for record in stream_records(provisioned)
        if record["eventName"] == "INSERT" and record["dynamodb"]["Keys"]["pk"]["S"].startswith("request#")
    ]


def aged(records: list[dict[str, Any]], seconds: int) -> list[dict[str, Any]]:
    """The same records, as a retry or a backlog delivers them ``seconds`` later."""
    older = copy.deepcopy(records)
    for record in older:
        record["dynamodb"]["ApproximateCreationDateTime"] -= seconds
    return older


def handle(records: list[dict[str, Any]]) -> list[str]:
    """Run the notify function; the sequence numbers it reports failed."""
    answer = notify.lambda_handler(
        {"Records": records}, lambda_context("NotifyFunction", timeout_s=NOTIFY_TIMEOUT_S)
    )
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


def sequence_numbers(records: list[dict[str, Any]]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in records]


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def stored_item(request_id: str) -> dict[str, Any]:
    """The item as the table holds it, read with a client of the test's own (not counted)."""
    dynamodb: Any = get_session().create_client("dynamodb")
    item: dict[str, Any] = dynamodb.get_item(
        TableName="callback-requests-test", Key={"pk": {"S": f"request#{request_id}"}}, ConsistentRead=True
    )["Item"]
    return item


def log_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def assert_no_personal_data(output: str) -> None:
    for value in PERSONAL:
        assert value not in output, f"personal data in logs: {value!r}"


def failing_for(request_ids: set[str], error: Exception) -> Callable[..., str]:
    real = ses.send_staff_alert

    def send(alert: StaffAlert, settings: Any) -> str:
        if alert.request_id in request_ids:
            raise error
        return real(alert, settings)

    return send


def sweep_once() -> dict[str, Any]:
    """Run the sweep function once, as its schedule does."""
    context = lambda_context("StaffAlertSweepFunction", timeout_s=SWEEP_TIMEOUT_S)
    result: dict[str, Any] = sweep.lambda_handler({"schedule": "staff-alert-sweep"}, context)
    return result


def subjects() -> list[str]:
    return sorted(email.subject for email in sent_emails())


def subject_of(number: int) -> str:
    return f"Call-back request {number:08X} - call in the afternoon"


def messages(output: str, message: str) -> list[dict[str, Any]]:
    return [line for line in log_lines(output) if line.get("message") == message]


def metric_values(output: str, name: str) -> list[float]:
    """Every value of one metric in the EMF blobs printed (each flush is one blob)."""
    values: list[float] = []
    for line in log_lines(output):
        if "_aws" in line and name in line:
            values += line[name] if isinstance(line[name], list) else [line[name]]
    return values


def new_process(calls: AwsCalls | None = None) -> None:
    """What a new Lambda runtime starts with: every module-level cache of the package cleared.

    Memoised functions (settings, clients, templates) and the alerting memory are found by looking
    at every ``callbacks`` module, so a cache added later is cleared too.
    """
    if calls is not None:
        calls.detach()
    for name, module in list(sys.modules.items()):
        if name != "callbacks" and not name.startswith("callbacks."):
            continue
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
            elif isinstance(value, alerting.RecentIds):
                value.clear()
    if calls is not None:
        calls.attach()


class Crash(BaseException):
    """The invocation dies here (a timeout, out of memory): nothing after it runs or catches it."""


def crashing_for(request_id: str, *, after_ses_took_it: bool) -> Callable[..., str]:
    """A send that kills the invocation for one request, before SES gets it or just after."""
    real = ses.send_staff_alert

    def send(alert: StaffAlert, settings: Any) -> str:
        if alert.request_id != request_id:
            return real(alert, settings)
        if after_ses_took_it:
            real(alert, settings)
        raise Crash

    return send
