"""The notify function against moto: real table writes, the real stream, SES as moto sees it.

Events are built the way Lambda builds them: records read from the table's stream, with the
fields Lambda adds. Sent emails are read back from moto's SES backend.
"""

from __future__ import annotations

import copy
import io
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.session import get_session
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from callbacks import alerting, aws, mailer, notify, observability, store
from callbacks.models.record import ConsentRecord, StoredCallbackRequest
from callbacks.settings import Settings
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


NOTIFY_CONTEXT = lambda_context("NotifyFunction")


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


@pytest.fixture
def aws_calls(moto_aws: Provisioned) -> Iterator[AwsCalls]:
    recorder = AwsCalls()
    for client in (aws.dynamodb(), aws.sesv2()):
        client.meta.events.register("before-parameter-build", recorder)
    yield recorder
    for client in (aws.dynamodb(), aws.sesv2()):
        client.meta.events.unregister("before-parameter-build", recorder)


@pytest.fixture
def output(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """Everything the function prints: log lines (Powertools' handler) and metrics (stdout)."""
    buffer = io.StringIO()
    handler = observability.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(buffer)
    yield lambda: buffer.getvalue() + capsys.readouterr().out
    handler.setStream(previous)


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    alerting.forget_recent_alerts()
    yield
    alerting.forget_recent_alerts()


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
    answer = notify.lambda_handler({"Records": records}, NOTIFY_CONTEXT)
    return [failure["itemIdentifier"] for failure in answer["batchItemFailures"]]


def sequence_numbers(records: list[dict[str, Any]]) -> list[str]:
    return [record["dynamodb"]["SequenceNumber"] for record in records]


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def stored_item(request_id: str) -> dict[str, Any]:
    item: dict[str, Any] = aws.dynamodb().get_item(
        TableName="callback-requests-test", Key={"pk": {"S": f"request#{request_id}"}}, ConsistentRead=True
    )["Item"]
    return item


def log_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def assert_no_personal_data(output: str) -> None:
    for value in PERSONAL:
        assert value not in output, f"personal data in logs: {value!r}"


def failing_for(request_ids: set[str], error: Exception) -> Callable[..., str]:
    real = mailer.send_staff_alert

    def send(alert: mailer.StaffAlert, settings: Any) -> str:
        if alert.request_id in request_ids:
            raise error
        return real(alert, settings)

    return send


def test_given_new_request_when_notified_then_office_gets_one_email_and_item_records_it(
    moto_aws: Provisioned, aws_calls: AwsCalls, output: Callable[[], str]
) -> None:
    request = a_request()
    save(request)
    aws_calls.clear()

    failed = handle(new_request_records(moto_aws))

    assert failed == []
    [email] = sent_emails()
    assert email.source == "alerts@accentplasticsurgery.example"
    assert email.destinations["ToAddresses"] == [
        "frontdesk@accentplasticsurgery.example",
        "nurse@accentplasticsurgery.example",
    ]
    assert email.subject == "Call-back request 00000001 - call in the afternoon"
    assert CANARY_NAME in email.body
    assert "(662) 377-1234" in email.body
    assert 'href="tel:+16623771234"' in email.body
    [params] = aws_calls.of("SendEmail")
    assert params["ReplyToAddresses"] == [CANARY_EMAIL]
    assert params["ConfigurationSetName"] == "staff-alerts"
    assert params["Content"]["Simple"]["Body"]["Text"]["Charset"] == "UTF-8"
    item = stored_item(request.id)
    assert item["ses_message_id"]["S"] == email.id
    assert item["notified_at"]["S"].endswith("Z")
    printed = output()
    assert_no_personal_data(printed)
    sent_line = next(line for line in log_lines(printed) if line.get("message") == "staff_alert_sent")
    assert sent_line["request_id"] == request.id
    assert sent_line["ses_message_id"] == email.id
    metrics = next(line for line in log_lines(printed) if "_aws" in line)
    assert metrics["StaffAlertSent"] == [1.0]
    assert "StaffAlertAgeSeconds" in metrics


def test_given_hostile_free_text_when_notified_then_headers_are_untouched_and_html_escaped(
    moto_aws: Provisioned, aws_calls: AwsCalls
) -> None:
    hostile = "<script>alert(1)</script> <b>hi</b>\r\nBcc: x@evil.example\r\nשלום 🙏🏽"
    request = a_request(
        message=hostile, source_url="https://evil.example/<script>alert(1)</script>", email=None
    )
    save(request)

    assert handle(new_request_records(moto_aws)) == []

    [params] = aws_calls.of("SendEmail")
    assert params["FromEmailAddress"] == "alerts@accentplasticsurgery.example"
    assert params["Destination"] == {
        "ToAddresses": ["frontdesk@accentplasticsurgery.example", "nurse@accentplasticsurgery.example"]
    }
    assert "ReplyToAddresses" not in params
    assert (
        params["Content"]["Simple"]["Subject"]["Data"] == "Call-back request 00000001 - call in the afternoon"
    )
    assert "evil" not in json.dumps({key: value for key, value in params.items() if key != "Content"})
    assert "Bcc: x@evil.example" in params["Content"]["Simple"]["Body"]["Text"]["Data"]
    [email] = sent_emails()
    assert "<script>" not in email.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email.body
    assert "שלום 🙏🏽" in email.body


def test_given_same_record_delivered_twice_when_notified_then_one_email_and_no_calls_the_second_time(
    moto_aws: Provisioned, aws_calls: AwsCalls
) -> None:
    save(a_request())
    records = new_request_records(moto_aws)
    handle(records)
    aws_calls.clear()

    failed = handle(records)

    assert failed == []
    assert len(sent_emails()) == 1
    assert aws_calls.names == []


def test_given_old_record_already_notified_when_a_new_process_gets_it_then_table_says_skip(
    moto_aws: Provisioned, aws_calls: AwsCalls, output: Callable[[], str]
) -> None:
    save(a_request())
    records = new_request_records(moto_aws)
    handle(records)
    alerting.forget_recent_alerts()  # a new Lambda process
    aws_calls.clear()

    failed = handle(aged(records, notify.FRESH_SECONDS + 1))

    assert failed == []
    assert len(sent_emails()) == 1
    assert aws_calls.names == ["GetItem"]
    assert aws_calls.of("GetItem")[0]["ConsistentRead"] is True
    assert [line["StaffAlertSkipped"] for line in log_lines(output()) if "StaffAlertSkipped" in line] == [
        [1.0]
    ]


def test_given_backlog_after_outage_when_a_new_process_gets_it_then_each_request_is_sent_once(
    moto_aws: Provisioned, aws_calls: AwsCalls
) -> None:
    save(a_request(1), a_request(2))
    aws_calls.clear()

    failed = handle(aged(new_request_records(moto_aws), 3600))

    assert failed == []
    assert len(sent_emails()) == 2
    assert aws_calls.names == ["GetItem", "SendEmail", "UpdateItem"] * 2


def test_given_fresh_records_when_notified_then_each_email_costs_exactly_two_aws_calls(
    moto_aws: Provisioned, aws_calls: AwsCalls
) -> None:
    save(a_request(1), a_request(2), a_request(3))
    aws_calls.clear()

    failed = handle(new_request_records(moto_aws))

    assert failed == []
    assert len(sent_emails()) == 3
    assert aws_calls.names == ["SendEmail", "UpdateItem"] * 3


def test_given_sender_not_verified_when_notified_then_record_fails_and_nothing_is_recorded(
    moto_aws: Provisioned, output: Callable[[], str]
) -> None:
    request = a_request()
    save(request)
    ses: Any = get_session().create_client("ses")
    ses.delete_identity(Identity=moto_aws.sender_email)
    records = new_request_records(moto_aws)

    failed = handle(records)

    assert failed == sequence_numbers(records)
    assert sent_emails() == []
    assert "notified_at" not in stored_item(request.id)
    printed = output()
    assert_no_personal_data(printed)
    [failure] = [line for line in log_lines(printed) if line.get("message") == "staff_alert_failed"]
    assert failure["error_code"] == "MessageRejected"
    assert failure["request_id"] == request.id

    ses.verify_email_identity(EmailAddress=moto_aws.sender_email)  # the fault is fixed
    assert handle(aged(records, 120)) == []
    assert len(sent_emails()) == 1
    assert "notified_at" in stored_item(request.id)


class _ThrottledSes:
    def send_email(self, **_: Any) -> dict[str, Any]:
        error: Any = {"Code": "TooManyRequestsException", "Message": f"Slow down sending to {CANARY_EMAIL}"}
        raise ClientError({"Error": error}, "SendEmail")


def test_given_ses_throttles_when_notified_then_record_fails_without_personal_data_anywhere(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, output: Callable[[], str]
) -> None:
    request = a_request()
    save(request)
    records = new_request_records(moto_aws)
    monkeypatch.setattr(aws, "sesv2", _ThrottledSes)

    failed = handle(records)

    assert failed == sequence_numbers(records)
    assert "notified_at" not in stored_item(request.id)
    printed = output()
    assert_no_personal_data(printed)
    assert '"error_code":"TooManyRequestsException"' in printed


def test_given_one_bad_record_in_a_batch_when_notified_then_earlier_sent_later_deferred_unsent(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, output: Callable[[], str]
) -> None:
    requests = [a_request(number) for number in (1, 2, 3, 4)]
    save(*requests)
    records = new_request_records(moto_aws)
    monkeypatch.setattr(
        mailer, "send_staff_alert", failing_for({requests[1].id}, mailer.StaffAlertNotSentError("Throttling"))
    )

    failed = handle(records)

    assert failed == sequence_numbers(records[1:])
    assert [email.subject for email in sent_emails()] == [
        "Call-back request 00000001 - call in the afternoon"
    ]
    assert ["notified_at" in stored_item(request.id) for request in requests] == [True, False, False, False]
    assert_no_personal_data(output())

    monkeypatch.undo()  # the fault is fixed; Lambda resends from the first failed record
    tail = [record for record in records if record["dynamodb"]["SequenceNumber"] in failed]
    assert handle(tail) == []
    assert handle(records) == []  # and a whole-batch redelivery changes nothing

    subjects = sorted(email.subject for email in sent_emails())
    assert subjects == [f"Call-back request {number:08X} - call in the afternoon" for number in (1, 2, 3, 4)]
    assert all("notified_at" in stored_item(request.id) for request in requests)


def test_given_record_unreadable_when_notified_then_it_fails_with_no_stored_values_in_logs(
    moto_aws: Provisioned, output: Callable[[], str]
) -> None:
    save(a_request(1), a_request(2))
    records = new_request_records(moto_aws)
    records[0]["dynamodb"]["NewImage"]["best_time"] = {"S": f"whenever {CANARY_NAME}"}

    failed = handle(records)

    assert failed == sequence_numbers(records)
    assert sent_emails() == []
    assert_no_personal_data(output())


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_given_table_down_after_sending_when_retried_then_same_email_is_recorded_not_resent(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, aws_calls: AwsCalls
) -> None:
    request = a_request()
    save(request)
    records = new_request_records(moto_aws)

    def table_down(*_: Any) -> bool:
        raise store.StorageUnavailableError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(store, "mark_notified", table_down)
    assert handle(records) == sequence_numbers(records)
    monkeypatch.undo()
    aws_calls.clear()

    assert handle(records) == []

    [email] = sent_emails()
    assert aws_calls.names == ["UpdateItem"]
    assert stored_item(request.id)["ses_message_id"]["S"] == email.id


def test_given_alert_already_recorded_when_fresh_record_arrives_then_warning_is_logged(
    moto_aws: Provisioned, output: Callable[[], str]
) -> None:
    request = a_request()
    save(request)
    assert store.mark_notified(request.id, "2026-07-01T15:00:01.000Z", "earlier-message-id")

    assert handle(new_request_records(moto_aws)) == []

    warning = next(
        line for line in log_lines(output()) if line.get("message") == "staff_alert_already_recorded"
    )
    assert warning["level"] == "WARNING"
    assert warning["request_id"] == request.id
    assert stored_item(request.id)["ses_message_id"]["S"] == "earlier-message-id"


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_given_records_that_are_not_new_requests_when_notified_then_nothing_is_sent(
    moto_aws: Provisioned, aws_calls: AwsCalls
) -> None:
    request = a_request()
    store.save_new_request(request, dedupe_keys=[store.DedupeKey("fingerprint", "ab" * 32, 600)], now=NOW)
    handle(new_request_records(moto_aws))
    others = [
        record
        for record in stream_records(moto_aws)
        if record["eventName"] != "INSERT" or not record["dynamodb"]["Keys"]["pk"]["S"].startswith("request#")
    ]
    alerting.forget_recent_alerts()
    aws_calls.clear()

    failed = handle(others)

    assert {record["eventName"] for record in others} == {"INSERT", "MODIFY"}
    assert failed == []
    assert len(sent_emails()) == 1
    assert aws_calls.names == []


def test_given_table_unreachable_for_an_old_record_when_notified_then_it_fails_unsent(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(a_request())
    records = aged(new_request_records(moto_aws), 3600)

    def table_down(*_: Any) -> bool:
        raise store.StorageUnavailableError("RequestLimitExceeded")

    monkeypatch.setattr(store, "is_notified", table_down)

    assert handle(records) == sequence_numbers(records)
    assert sent_emails() == []


def test_given_ses_unreachable_when_sending_then_error_names_only_the_failure() -> None:
    class Unreachable:
        def send_email(self, **_: Any) -> dict[str, Any]:
            raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    alert = mailer.StaffAlert(request_id="r", subject="s", text="t", html="h", reply_to=None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws, "sesv2", Unreachable)
        with pytest.raises(mailer.StaffAlertNotSentError, match=r"^EndpointConnectionError$") as raised:
            mailer.send_staff_alert(alert, Settings())

    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_given_many_requests_when_remembered_then_the_oldest_are_forgotten_first() -> None:
    remembered = alerting.RecentIds(2)
    for request_id in ("a", "b", "a", "c"):
        remembered.put(request_id)

    assert ["a" in remembered, "b" in remembered, "c" in remembered] == [True, False, True]


def test_given_a_bug_while_rendering_when_notified_then_record_fails_without_details(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, output: Callable[[], str]
) -> None:
    request = a_request()
    save(request)
    records = new_request_records(moto_aws)

    def broken(*_: Any) -> mailer.StaffAlert:
        raise ValueError(f"cannot render {CANARY_NAME}")

    monkeypatch.setattr(mailer, "render_staff_alert", broken)

    assert handle(records) == sequence_numbers(records)
    printed = output()
    assert_no_personal_data(printed)
    [failure] = [line for line in log_lines(printed) if line.get("message") == "staff_alert_failed"]
    assert failure["error_code"] == "ValueError"
    assert failure["request_id"] == request.id
