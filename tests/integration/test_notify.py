"""The notify function against moto: real table writes, the real stream, SES as moto sees it.

Helpers (requests, stream records as Lambda delivers them, a new process) are in alerts.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.session import get_session

from callbacks.adapters import alert_records, aws, ses, store
from callbacks.emails import staff_alert
from callbacks.logic import alerting
from callbacks.models.email import StaffAlert
from callbacks.models.errors import StaffAlertNotSentError, StorageUnavailableError
from callbacks.models.record import DedupeKey
from infra.provision import Provisioned
from tests.conftest import deployment_settings
from tests.integration.alerts import (
    CANARY_EMAIL,
    CANARY_NAME,
    NOW,
    AwsCalls,
    a_request,
    aged,
    assert_no_personal_data,
    failing_for,
    handle,
    log_lines,
    new_process,
    new_request_records,
    save,
    sent_emails,
    sequence_numbers,
    stored_item,
    stream_records,
)


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
    # Bounce and complaint events of the configuration set carry it back: the request, by id only.
    assert params["EmailTags"] == [{"Name": "request_id", "Value": request.id}]
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


def test_given_record_already_notified_when_a_new_process_gets_it_then_the_refused_claim_says_skip(
    moto_aws: Provisioned, aws_calls: AwsCalls, output: Callable[[], str]
) -> None:
    save(a_request())
    records = new_request_records(moto_aws)
    handle(records)
    new_process(aws_calls)
    aws_calls.clear()

    failed = handle(records)  # as fresh as it was: no age decides whether the table is asked

    assert failed == []
    assert len(sent_emails()) == 1
    assert aws_calls.names == ["UpdateItem"]
    assert "attribute_not_exists(notified_at)" in aws_calls.of("UpdateItem")[0]["ConditionExpression"]
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
    assert aws_calls.names == ["UpdateItem", "SendEmail", "UpdateItem"] * 2


def test_given_fresh_records_when_notified_then_each_email_costs_exactly_three_aws_calls(
    moto_aws: Provisioned, aws_calls: AwsCalls
) -> None:
    save(a_request(1), a_request(2), a_request(3))
    aws_calls.clear()

    failed = handle(new_request_records(moto_aws))

    assert failed == []
    assert len(sent_emails()) == 3
    # Claim, send, record: the claim is what makes a redelivery in any process send nothing.
    assert aws_calls.names == ["UpdateItem", "SendEmail", "UpdateItem"] * 3
    claim, record = aws_calls.of("UpdateItem")[:2]
    assert claim["UpdateExpression"].startswith("SET alert_claimed_at")
    assert "REMOVE alert_pending" in record["UpdateExpression"]


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
    with monkeypatch.context() as patch:  # the fault lasts for this block only
        patch.setattr(
            ses,
            "send_staff_alert",
            failing_for({requests[1].id}, StaffAlertNotSentError("Throttling")),
        )
        failed = handle(records)

    assert failed == sequence_numbers(records[1:])
    assert [email.subject for email in sent_emails()] == [
        "Call-back request 00000001 - call in the afternoon"
    ]
    assert ["notified_at" in stored_item(request.id) for request in requests] == [True, False, False, False]
    assert_no_personal_data(output())

    # The fault is fixed; Lambda resends from the first failed record.
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
        raise StorageUnavailableError("ProvisionedThroughputExceededException")

    pauses: list[float] = []
    with monkeypatch.context() as patch:
        patch.setattr(alert_records, "mark_notified", table_down)
        patch.setattr(alerting.time, "sleep", pauses.append)
        assert handle(records) == sequence_numbers(records)  # every try in place failed
    aws_calls.clear()

    assert handle(records) == []  # Lambda's retry, in this process

    [email] = sent_emails()
    assert pauses == list(alerting.RECORD_PAUSES)
    assert aws_calls.names == ["UpdateItem"]
    assert stored_item(request.id)["ses_message_id"]["S"] == email.id


def test_given_alert_recorded_by_another_process_when_fresh_record_arrives_then_nothing_is_sent(
    moto_aws: Provisioned, output: Callable[[], str]
) -> None:
    request = a_request()
    save(request)
    assert alert_records.claim_alert(
        request.id, "other", "2026-07-01T15:00:01.000Z", "2026-07-01T14:55:01.000Z"
    )
    assert alert_records.mark_notified(request.id, "2026-07-01T15:00:01.000Z", "earlier-message-id", "other")

    assert handle(new_request_records(moto_aws)) == []

    assert sent_emails() == []
    skipped = next(line for line in log_lines(output()) if line.get("message") == "staff_alert_already_sent")
    assert skipped["request_id"] == request.id
    assert skipped["known_from"] == "table"
    assert stored_item(request.id)["ses_message_id"]["S"] == "earlier-message-id"


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_given_records_that_are_not_new_requests_when_notified_then_nothing_is_sent(
    moto_aws: Provisioned, aws_calls: AwsCalls
) -> None:
    request = a_request()
    store.save_new_request(request, dedupe_keys=[DedupeKey("fingerprint", "ab" * 32, 600)], now=NOW)
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


def test_given_table_unreachable_when_claiming_then_the_record_fails_unsent(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    save(a_request())
    records = aged(new_request_records(moto_aws), 3600)

    def table_down(*_: Any) -> alert_records.AlertClaim:
        raise StorageUnavailableError("RequestLimitExceeded")

    monkeypatch.setattr(alert_records, "claim_alert", table_down)

    assert handle(records) == sequence_numbers(records)
    assert sent_emails() == []


def test_given_ses_unreachable_when_sending_then_error_names_only_the_failure() -> None:
    class Unreachable:
        def send_email(self, **_: Any) -> dict[str, Any]:
            raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    alert = StaffAlert(request_id="r", subject="s", text="t", html="h", reply_to=None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(aws, "sesv2", Unreachable)
        with pytest.raises(StaffAlertNotSentError, match=r"^EndpointConnectionError$") as raised:
            ses.send_staff_alert(alert, deployment_settings())

    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_given_many_requests_when_remembered_then_the_oldest_are_forgotten_first() -> None:
    remembered: alerting.RecentIds[bool] = alerting.RecentIds(2)
    for request_id in ("a", "b", "a", "c"):
        remembered.put(request_id, True)

    assert ["a" in remembered, "b" in remembered, "c" in remembered] == [True, False, True]


def test_given_a_bug_while_rendering_when_notified_then_record_fails_without_details(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, output: Callable[[], str]
) -> None:
    request = a_request()
    save(request)
    records = new_request_records(moto_aws)

    def broken(*_: Any) -> StaffAlert:
        raise ValueError(f"cannot render {CANARY_NAME}")

    monkeypatch.setattr(staff_alert, "render_staff_alert", broken)

    assert handle(records) == sequence_numbers(records)
    printed = output()
    assert_no_personal_data(printed)
    [failure] = [line for line in log_lines(printed) if line.get("message") == "staff_alert_failed"]
    assert failure["error_code"] == "ValueError"
    assert failure["request_id"] == request.id
