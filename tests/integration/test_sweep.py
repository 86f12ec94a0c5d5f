"""The sweep: requests the stream gave up on are emailed once SES is back, through the same path.

The clock is simulated (time-machine): a 30-minute outage and six schedule ticks take no real time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from botocore.session import get_session

from callbacks.adapters import alert_records, store
from callbacks.emails import staff_alert
from callbacks.logic import alerting
from callbacks.models.email import StaffAlert
from callbacks.models.record import DedupeKey, utc_timestamp
from infra.provision import Provisioned
from tests.integration.alerts import (
    NOW,
    AwsCalls,
    a_request,
    assert_no_personal_data,
    handle,
    messages,
    metric_values,
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

START = datetime(2026, 7, 1, 15, 0, 5, tzinfo=UTC)
SCHEDULE = timedelta(minutes=5)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def ses_down(provisioned: Provisioned) -> None:
    get_session().create_client("ses").delete_identity(Identity=provisioned.sender_email)


def ses_back(provisioned: Provisioned) -> None:
    get_session().create_client("ses").verify_email_identity(EmailAddress=provisioned.sender_email)


def delivered_until_given_up(
    records: list[dict[str, Any]], clock: time_machine.Traveller, retries: int = 10, spacing: float = 20
) -> list[str]:
    """Lambda's event source mapping: a delivery, retries from the first failed record, then it gives up."""
    pending = records
    for _ in range(retries + 1):
        failed = handle(pending)
        if not failed:
            return []
        pending = [record for record in pending if record["dynamodb"]["SequenceNumber"] in failed]
        clock.shift(timedelta(seconds=spacing))
    return sequence_numbers(pending)


def created(number: int) -> Any:
    """A request stored now (on the simulated clock)."""
    now = utc_timestamp(datetime.now(UTC))
    request = a_request(number, created_at=now, consent={"agreed_at": now})
    save(request)
    return request


def test_given_the_stream_gave_up_when_ses_is_back_then_the_sweep_sends_it_and_a_second_sweep_nothing(
    moto_aws: Provisioned, aws_calls: AwsCalls, clock: time_machine.Traveller, output: Callable[[], str]
) -> None:
    request = a_request()
    save(request)
    ses_down(moto_aws)
    records = new_request_records(moto_aws)
    assert delivered_until_given_up(records, clock) == sequence_numbers(records)  # -> dead-letter queue
    assert "alert_claimed_at" not in stored_item(request.id)  # each refused send gave its claim back

    ses_back(moto_aws)
    clock.shift(SCHEDULE)
    new_process(aws_calls)
    aws_calls.clear()
    first = sweep_once()
    calls_of_first = list(aws_calls.names)
    aws_calls.clear()
    second = sweep_once()

    assert subjects() == [subject_of(1)]
    assert (first["found"], first["sent"], second["found"]) == (1, 1, 0)
    # One query per run; then claim, send, record per email, as from the stream.
    assert calls_of_first == ["Query", "UpdateItem", "SendEmail", "UpdateItem"]
    assert aws_calls.names == ["Query"]
    assert "ScanIndexForward" in aws_calls.of("Query")[0]
    item = stored_item(request.id)
    assert item["ses_message_id"]["S"] == sent_emails()[0].id
    assert "alert_pending" not in item
    assert_no_personal_data(output())


def test_given_a_30_minute_ses_outage_then_nothing_is_lost_and_nothing_doubled(
    moto_aws: Provisioned, clock: time_machine.Traveller, output: Callable[[], str]
) -> None:
    ses_down(moto_aws)
    arrivals = {0: 1, 7: 2, 20: 3, 29: 4}  # minute of the outage -> request number
    minute = 0
    while minute <= 30:
        if minute % 5 == 0:
            sweep_once()  # the schedule keeps trying; SES still refuses
        if minute in arrivals:
            created(arrivals[minute])
            # Its 10 retries within the minute, then the dead-letter queue.
            delivered_until_given_up(new_request_records(moto_aws)[-1:], clock, spacing=5)
        clock.move_to(START + timedelta(minutes=minute + 1))
        minute += 1
    assert sent_emails() == []

    ses_back(moto_aws)  # at minute 31
    runs = []
    for tick in (35, 40, 45):
        clock.move_to(START + timedelta(minutes=tick))
        runs.append(sweep_once())

    assert subjects() == [subject_of(number) for number in (1, 2, 3, 4)]
    assert [run["found"] for run in runs] == [4, 0, 0]  # within 4 minutes of SES working again
    printed = output()
    sent_order = [line["request_id"][:8] for line in messages(printed, "staff_alert_sent")]
    assert sent_order == [f"{number:08x}" for number in (1, 2, 3, 4)]  # oldest first
    assert messages(printed, "staff_alert_possible_duplicate") == []


def test_given_a_young_request_when_the_sweep_runs_then_it_is_left_to_the_stream(
    moto_aws: Provisioned, clock: time_machine.Traveller
) -> None:
    created(1)

    report = sweep_once()

    assert report["found"] == 0
    assert sent_emails() == []


def test_given_more_requests_than_a_run_takes_then_the_oldest_go_first_and_the_next_run_goes_on(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch, clock: time_machine.Traveller
) -> None:
    monkeypatch.setattr(alerting, "SWEEP_LIMIT", 2)
    for number in (3, 1, 2):  # stored out of order; created_at decides
        save(a_request(number, created_at=f"2026-07-01T14:5{number}:00.000Z"))
    clock.shift(SCHEDULE)

    first = sweep_once()
    after_first = subjects()
    second = sweep_once()

    assert (first["sent"], second["sent"]) == (2, 1)
    assert after_first == [subject_of(1), subject_of(2)]
    assert subjects() == [subject_of(number) for number in (1, 2, 3)]


def test_given_only_dedupe_markers_and_notified_requests_then_the_index_holds_nothing_to_send(
    moto_aws: Provisioned, clock: time_machine.Traveller
) -> None:
    request = a_request()
    assert store.save_new_request(
        request, dedupe_keys=[DedupeKey("fingerprint", "ab" * 32, 600)], now=NOW
    ).created
    assert stored_item(request.id)["alert_pending"] == {"S": store.ALERT_PENDING}
    assert [found.request_id for found in alert_records.unsent_alerts("2026-07-01T16:00:00.000Z", 10)] == [
        request.id
    ]

    assert handle(new_request_records(moto_aws)) == []

    assert alert_records.unsent_alerts("2026-07-01T16:00:00.000Z", 10) == []


def test_given_requests_that_cannot_be_rendered_then_the_sweep_steps_over_them_to_the_others(
    moto_aws: Provisioned,
    monkeypatch: pytest.MonkeyPatch,
    clock: time_machine.Traveller,
    output: Callable[[], str],
) -> None:
    bad = [a_request(number, created_at=f"2026-07-01T14:5{number}:00.000Z") for number in (1, 2, 3, 4)]
    save(*bad, a_request(5))
    real = staff_alert.render_staff_alert

    def broken_for_first(request: Any, settings: Any, *link: Any) -> StaffAlert:
        if request.id != a_request(5).id:
            raise ValueError("a bug in rendering")
        return real(request, settings, *link)

    monkeypatch.setattr(staff_alert, "render_staff_alert", broken_for_first)
    clock.shift(SCHEDULE)

    report = sweep_once()

    # More bad requests than SWEEP_FAILURES_IN_A_ROW, and oldest: the good one still goes out.
    assert (report["failed"], report["sent"], report["stopped"]) == (4, 1, None)
    assert subjects() == [subject_of(5)]
    assert "alert_claimed_at" not in stored_item(bad[0].id)  # given back: nothing went out
    assert metric_values(output(), "StaffAlertFailed") == [1.0] * 4


def test_given_ses_still_down_then_a_run_stops_after_a_few_failures_in_a_row(
    moto_aws: Provisioned, aws_calls: AwsCalls, clock: time_machine.Traveller
) -> None:
    save(*(a_request(number) for number in range(1, 6)))
    ses_down(moto_aws)
    clock.shift(SCHEDULE)
    aws_calls.clear()

    report = sweep_once()

    assert (report["found"], report["failed"], report["stopped"]) == (5, 3, "failures")
    assert aws_calls.names.count("SendEmail") == alerting.SWEEP_FAILURES_IN_A_ROW
