"""Exactly once across processes: the failures of issue 8, reproduced against moto and shown gone.

Lambda redelivers a whole stream batch after a timeout or a crash, often to a new runtime; a new
process is simulated by clearing every module-level cache of the package (``new_process``). The
clock is simulated (time-machine), so going past the stale-claim window takes no real time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError

from callbacks.adapters import alert_records, aws, ses
from callbacks.handlers import notify
from callbacks.logic import alerting
from callbacks.models.errors import StaffAlertNotSentError, StorageUnavailableError
from infra.local.lambda_events import lambda_context
from infra.provision import Provisioned
from tests.conftest import deployment_settings
from tests.integration.alerts import (
    AwsCalls,
    Crash,
    a_request,
    assert_no_personal_data,
    crashing_for,
    handle,
    messages,
    new_process,
    new_request_records,
    save,
    sent_emails,
    sequence_numbers,
    stored_item,
    subject_of,
    subjects,
    sweep_once,
)

# The requests are created at 15:00:00; the first delivery is a few seconds later.
START = datetime(2026, 7, 1, 15, 0, 5, tzinfo=UTC)
PAST_STALE = timedelta(seconds=deployment_settings().alert_claim_stale_seconds + 1)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_given_a_crash_mid_batch_when_redelivered_to_a_new_process_then_nothing_is_sent_twice(
    moto_aws: Provisioned,
    monkeypatch: pytest.MonkeyPatch,
    aws_calls: AwsCalls,
    clock: time_machine.Traveller,
    output: Callable[[], str],
) -> None:
    requests = [a_request(number) for number in (1, 2, 3)]
    save(*requests)
    records = new_request_records(moto_aws)
    with monkeypatch.context() as patch:
        patch.setattr(ses, "send_staff_alert", crashing_for(requests[2].id, after_ses_took_it=False))
        with pytest.raises(Crash):
            handle(records)
    new_process(aws_calls)

    assert handle(records) == []  # Lambda retries the whole batch, in a new runtime

    # The old code sent 5 emails here. The third is still claimed by the dead invocation.
    assert subjects() == [subject_of(1), subject_of(2)]
    assert [line["request_id"] for line in messages(output(), "staff_alert_claimed_elsewhere")] == [
        requests[2].id
    ]

    clock.shift(PAST_STALE)  # the claim goes stale: the sweep takes it over
    sweep_once()
    sweep_once()

    assert subjects() == [subject_of(1), subject_of(2), subject_of(3)]
    assert all("notified_at" in stored_item(request.id) for request in requests)


def test_given_a_crash_after_ses_took_it_when_claim_goes_stale_then_resend_is_a_logged_possible_duplicate(
    moto_aws: Provisioned,
    monkeypatch: pytest.MonkeyPatch,
    aws_calls: AwsCalls,
    clock: time_machine.Traveller,
    output: Callable[[], str],
) -> None:
    request = a_request()
    save(request)
    records = new_request_records(moto_aws)
    with monkeypatch.context() as patch:
        patch.setattr(ses, "send_staff_alert", crashing_for(request.id, after_ses_took_it=True))
        with pytest.raises(Crash):
            handle(records)
    new_process(aws_calls)

    assert handle(records) == []
    sweep_once()  # the claim is fresh: its holder may still be recording
    assert len(sent_emails()) == 1

    clock.shift(PAST_STALE)
    sweep_once()

    # The one window that remains: SES took the email, the process died before recording it.
    assert len(sent_emails()) == 2
    printed = output()
    [duplicate] = messages(printed, "staff_alert_possible_duplicate")
    assert duplicate["request_id"] == request.id
    assert duplicate["level"] == "WARNING"
    assert_no_personal_data(printed)


def test_given_the_record_failed_once_after_sending_when_redelivered_to_a_new_process_then_one_email(
    moto_aws: Provisioned,
    monkeypatch: pytest.MonkeyPatch,
    aws_calls: AwsCalls,
    clock: time_machine.Traveller,
) -> None:
    request = a_request()
    save(request)
    records = new_request_records(moto_aws)
    real = alert_records.mark_notified
    tries: list[str] = []

    def fails_once(*args: Any) -> bool:
        tries.append(args[0])
        if len(tries) == 1:
            raise StorageUnavailableError("ProvisionedThroughputExceededException")
        return real(*args)

    pauses: list[float] = []
    with monkeypatch.context() as patch:
        patch.setattr(alert_records, "mark_notified", fails_once)
        patch.setattr(alerting.time, "sleep", pauses.append)
        assert handle(records) == []  # retried in place, recorded
    new_process(aws_calls)
    aws_calls.clear()

    assert handle(records) == []

    [email] = sent_emails()
    assert (tries, pauses) == ([request.id, request.id], [alerting.RECORD_PAUSES[0]])
    assert stored_item(request.id)["ses_message_id"]["S"] == email.id
    assert aws_calls.names == ["UpdateItem"]  # the refused claim, nothing else


def test_given_the_record_failed_every_try_when_redelivered_to_a_new_process_then_nothing_is_resent(
    moto_aws: Provisioned,
    monkeypatch: pytest.MonkeyPatch,
    aws_calls: AwsCalls,
    clock: time_machine.Traveller,
    output: Callable[[], str],
) -> None:
    request = a_request()
    save(request)
    records = new_request_records(moto_aws)

    def table_down(*_: Any) -> bool:
        raise StorageUnavailableError("InternalServerError")

    with monkeypatch.context() as patch:
        patch.setattr(alert_records, "mark_notified", table_down)
        patch.setattr(alerting.time, "sleep", lambda _: None)
        assert handle(records) == sequence_numbers(records)
    new_process(aws_calls)

    assert handle(records) == []  # the claim is held: this process sends nothing

    assert len(sent_emails()) == 1
    [failure] = messages(output(), "staff_alert_failed")
    assert (failure["reason"], failure["ses_message_id"]) == ("not_recorded", sent_emails()[0].id)


def test_given_a_crash_between_claim_and_send_when_the_claim_goes_stale_then_the_sweep_sends_it_once(
    moto_aws: Provisioned,
    monkeypatch: pytest.MonkeyPatch,
    aws_calls: AwsCalls,
    clock: time_machine.Traveller,
) -> None:
    request = a_request()
    save(request)
    with monkeypatch.context() as patch:
        patch.setattr(ses, "send_staff_alert", crashing_for(request.id, after_ses_took_it=False))
        with pytest.raises(Crash):
            handle(new_request_records(moto_aws))
    new_process(aws_calls)
    assert "alert_claimed_at" in stored_item(request.id)

    clock.shift(timedelta(minutes=4))
    assert sweep_once()["claimed_elsewhere"] == 1
    clock.shift(PAST_STALE)
    first, second = sweep_once(), sweep_once()

    assert (first["sent"], second["found"]) == (1, 0)
    assert subjects() == [subject_of(1)]
    item = stored_item(request.id)
    assert "notified_at" in item
    assert not {"alert_pending", "alert_claimed_at", "alert_claim_token"} & set(item)


def test_given_an_ses_refusal_when_the_send_fails_then_the_claim_is_given_back_for_the_next_try(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, aws_calls: AwsCalls
) -> None:
    request = a_request()
    save(request)
    records = new_request_records(moto_aws)
    aws_calls.clear()

    def refused(*_: Any) -> str:
        raise StaffAlertNotSentError("TooManyRequestsException")

    with monkeypatch.context() as patch:
        patch.setattr(ses, "send_staff_alert", refused)
        assert handle(records) == sequence_numbers(records)

    assert aws_calls.names == ["UpdateItem", "UpdateItem"]  # claim, release (the send was stubbed)
    assert "alert_claimed_at" not in stored_item(request.id)
    assert handle(records) == []  # Lambda's retry sends at once, in any process
    assert len(sent_emails()) == 1


def test_given_too_little_time_left_when_a_batch_arrives_then_no_record_is_started(
    moto_aws: Provisioned, aws_calls: AwsCalls
) -> None:
    save(a_request(1), a_request(2))
    records = new_request_records(moto_aws)
    aws_calls.clear()
    # Less than one alert's worst case and the spare time left in the invocation.
    short = lambda_context(
        "NotifyFunction", timeout_s=int(alerting.worst_case_alert_seconds() + alerting.SPARE_SECONDS)
    )

    answer = notify.lambda_handler({"Records": records}, short)  # type: ignore[arg-type]

    assert [item["itemIdentifier"] for item in answer["batchItemFailures"]] == sequence_numbers(records)
    assert aws_calls.names == []
    assert sent_emails() == []


def test_given_the_budgets_then_one_alert_at_its_worst_takes_23_5_seconds() -> None:
    # claim 4 + send 6 + three tries of the record 3 x 4 + pauses 0.5 + 1 (aws._CONFIG, alerting).
    assert alert_records.worst_case_call_seconds() == 4.0
    assert ses.worst_case_send_seconds() == 6.0
    assert alerting.worst_case_alert_seconds() == 23.5


class _SesAnswerLost:
    def send_email(self, **_: Any) -> dict[str, Any]:
        raise ReadTimeoutError(endpoint_url="https://email.us-east-1.amazonaws.com")


class _SesUnreachable:
    def send_email(self, **_: Any) -> dict[str, Any]:
        raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")


def test_given_ses_answer_lost_when_sending_then_the_claim_is_kept_so_a_quick_retry_cannot_double_it(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, output: Callable[[], str]
) -> None:
    request = a_request()
    save(request)
    records = new_request_records(moto_aws)
    with monkeypatch.context() as patch:
        patch.setattr(aws, "sesv2", _SesAnswerLost)
        assert handle(records) == sequence_numbers(records)
        assert handle(records) == []  # Lambda's retry: the claim is held, nothing is tried again

    assert "alert_claimed_at" in stored_item(request.id)  # for the sweep, once stale
    [unknown] = messages(output(), "staff_alert_send_unknown")
    assert (unknown["request_id"], unknown["error_code"]) == (request.id, "ReadTimeoutError")


def test_given_ses_unreachable_when_sending_then_the_claim_is_given_back(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = a_request()
    save(request)
    records = new_request_records(moto_aws)
    with monkeypatch.context() as patch:
        patch.setattr(aws, "sesv2", _SesUnreachable)
        assert handle(records) == sequence_numbers(records)

    assert "alert_claimed_at" not in stored_item(request.id)
    assert handle(records) == []
    assert len(sent_emails()) == 1


def test_given_a_claim_whose_answer_was_lost_when_the_sdk_retries_it_then_the_claim_is_still_ours(
    moto_aws: Provisioned,
) -> None:
    # Seen on the loaded local stack: the first attempt landed, its answer timed out, the retry
    # found the claim taken, and by its own token.
    request = a_request()
    save(request)
    times = ("2026-07-01T15:00:05.000Z", "2026-07-01T14:55:05.000Z")

    first = alert_records.claim_alert(request.id, "token-a", *times)
    retried = alert_records.claim_alert(request.id, "token-a", *times)
    other = alert_records.claim_alert(request.id, "token-b", *times)

    assert (first.outcome, retried.outcome, other.outcome) == ("claimed", "claimed", "claimed_elsewhere")
