"""The weekly summary against moto: requests stored and marked called the way the functions store
and mark them, summarized by the scheduled handler into one email to the office, read from the
index keyed by week (never a scan), with references only."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine

from callbacks.adapters import aws, store
from callbacks.core import deadline
from callbacks.core.office import week_of
from callbacks.core.settings import get_settings
from callbacks.handlers.weekly_summary import lambda_handler
from callbacks.models.choices import BestTime
from callbacks.models.errors import StaffAlertNotSentError, StorageUnavailableError
from callbacks.models.record import (
    ConsentRecord,
    StoredCallbackRequest,
    reference,
    utc_timestamp,
)
from infra.local.lambda_events import lambda_context
from infra.provision import Provisioned
from tests.integration.alerts import AwsCalls
from tests.integration.alerts import sent_emails as sent
from tests.integration.helpers import counting_calls
from tests.integration.test_no_personal_data_in_logs import CANARY, NEEDLES

# Monday November 30, 2026, 7:30 in Tupelo (CST): what EventBridge Scheduler passes.
MONDAY_730 = "2026-11-30T13:30:00Z"


def stored(created: str, *, called_after_minutes: float | None = None, best_time: str = "morning") -> str:
    """A request stored as the intake stores it (and marked called as the link marks it); its id."""
    created_at = datetime.fromisoformat(created.replace("Z", "+00:00"))
    due = deadline.call_by(created_at, BestTime(best_time), deadline.office_calendar(get_settings()))
    request = StoredCallbackRequest(
        id=str(uuid.uuid4()),
        created_at=utc_timestamp(created_at),
        name=str(CANARY["name"]),
        phone="+16625550187",
        email=str(CANARY["email"]),
        best_time=best_time,
        interest="scars-burns",
        message=str(CANARY["message"]),
        source_url="http://127.0.0.1:3000/laser-resurfacing",
        consent=ConsentRecord(agreed_at=utc_timestamp(created_at)),
        expires_at=1_900_000_000,
        call_by=due,
        week=week_of(created_at, get_settings().office_time_zone).isoformat(),
    )
    assert store.save_new_request(request, dedupe_keys=[], now=int(created_at.timestamp())).created
    if called_after_minutes is not None:
        contacted = created_at + timedelta(minutes=called_after_minutes)
        assert store.mark_contacted(request.id, utc_timestamp(contacted)).marked
    return request.id


def run_summary(at: str | None = MONDAY_730) -> dict[str, Any]:
    event = {} if at is None else {"scheduled_time": at}
    result: dict[str, Any] = lambda_handler(event, lambda_context("WeeklySummaryFunction"))  # type: ignore[arg-type]
    return result


def test_given_a_week_of_requests_then_one_email_with_its_figures_beside_the_week_befores(
    moto_aws: Provisioned,
) -> None:
    stored("2026-11-23T15:00:00Z", called_after_minutes=25)  # Monday 9:00, called 9:25
    stored("2026-11-24T20:00:00Z", called_after_minutes=24 * 60, best_time="afternoon")  # a day late
    still_open = stored("2026-11-30T05:30:00Z")  # Sunday 23:30 in Tupelo: this week
    stored("2026-11-30T13:29:00Z")  # Monday 7:29: next week's
    stored("2026-11-18T15:00:00Z", called_after_minutes=10)  # the week before

    result = run_summary()

    assert result == {"week": "2026-11-23", "received": 3, "called": 2, "still_open": 1}
    [email] = sent()
    assert email.subject == "Week of Nov 23 - 29, 2026: 3 call-back requests, 2 called"
    assert email.destinations["ToAddresses"] == list(get_settings().office_emails)
    body = email.body  # moto keeps the HTML part
    assert "1 of 3 (33%)" in body  # called by the deadline, this week
    assert "1 of 1 (100%)" in body  # the week before
    assert "12 h 13 min" in body  # the median of 25 min and 24 h
    assert reference(still_open) in body
    assert "/laser-resurfacing" in body


def test_given_the_summary_then_no_name_phone_email_or_message_is_in_it(moto_aws: Provisioned) -> None:
    stored("2026-11-23T15:00:00Z", called_after_minutes=25)
    stored("2026-11-25T15:00:00Z")

    run_summary()

    [email] = sent()
    for needle in NEEDLES:
        assert needle not in email.subject
        assert needle not in email.body
    assert "scar" not in email.body.lower()  # the interest and the message alike


def test_given_the_summary_then_it_queries_the_week_index_twice_and_never_scans(
    moto_aws: Provisioned, aws_calls: AwsCalls
) -> None:
    for day in range(16, 30):
        stored(f"2026-11-{day}T16:00:00Z", called_after_minutes=day)

    with counting_calls(aws.dynamodb()) as counter:
        result = run_summary()

    assert result["received"] == 7
    assert counter.calls == ["Query", "Query"]  # this week, the week before
    assert [query["IndexName"] for query in aws_calls.of("Query")] == [store.BY_WEEK_INDEX] * 2
    assert [query["ExpressionAttributeValues"][":week"]["S"] for query in aws_calls.of("Query")] == [
        "2026-11-23",
        "2026-11-16",
    ]


def test_given_more_requests_than_one_page_then_every_page_is_read(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    for hour in range(5):
        stored(f"2026-11-24T{15 + hour}:00:00Z")
    query = aws.dynamodb().query
    monkeypatch.setattr(aws.dynamodb(), "query", lambda **kw: query(**kw, Limit=2))

    with counting_calls(aws.dynamodb()) as counter:
        result = run_summary()

    assert result["received"] == 5
    assert counter.calls.count("Query") == 3 + 1  # 5 requests in pages of 2, and the empty week before


def test_given_a_week_without_requests_then_one_short_email_says_so(moto_aws: Provisioned) -> None:
    stored("2026-11-18T15:00:00Z", called_after_minutes=10)

    assert run_summary()["received"] == 0

    [email] = sent()
    assert email.subject == "Week of Nov 23 - 29, 2026: no call-back requests"
    assert "No call-back requests arrived from Mon, Nov 23 to Sun, Nov 29" in email.body
    assert "The week before: 1 request, 1 called." in email.body


def test_given_a_request_marked_called_after_the_summary_then_the_next_run_counts_it_called(
    moto_aws: Provisioned,
) -> None:
    request_id = stored("2026-11-25T15:00:00Z")
    assert run_summary()["still_open"] == 1

    assert store.mark_contacted(request_id, "2026-11-30T14:00:00.000Z").marked

    assert run_summary() == {"week": "2026-11-23", "received": 1, "called": 1, "still_open": 0}


def test_given_a_honeypot_catch_then_the_summary_does_not_count_it(moto_aws: Provisioned) -> None:
    stored("2026-11-24T15:00:00Z")
    catch = StoredCallbackRequest(
        id=str(uuid.uuid4()),
        created_at="2026-11-24T16:00:00.000Z",
        name="Bot",
        phone="+16625550100",
        best_time="anytime",
        consent=ConsentRecord(agreed_at="2026-11-24T16:00:00.000Z"),
        expires_at=1_900_000_000,
        caught_by="honeypot",
    )
    assert store.save_spam(catch, caps=[], now=1_795_000_000)

    assert run_summary()["received"] == 1


def test_given_no_scheduled_time_then_the_last_whole_week_before_now(moto_aws: Provisioned) -> None:
    stored("2026-11-25T15:00:00Z")

    with time_machine.travel(datetime(2026, 12, 2, 18, 0, tzinfo=UTC), tick=False):  # a Wednesday
        result = run_summary(None)

    assert result == {"week": "2026-11-23", "received": 1, "called": 0, "still_open": 1}


def test_given_the_summary_then_its_log_and_metric_lines_carry_no_personal_data(
    moto_aws: Provisioned, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    stored("2026-11-23T15:00:00Z", called_after_minutes=25)

    run_summary()

    metric_lines = capsys.readouterr().out
    log_lines = "\n".join(str(vars(record)) for record in caplog.records)
    assert "weekly_summary_sent" in log_lines
    assert "WeeklySummarySent" in metric_lines
    for needle in NEEDLES:
        assert needle not in metric_lines + log_lines


def test_given_ses_refusing_then_the_run_fails_for_the_schedule_to_retry_and_a_retry_sends_it(
    moto_aws: Provisioned,
) -> None:
    stored("2026-11-24T15:00:00Z")
    ses = boto3.client("ses")
    ses.delete_identity(Identity=moto_aws.sender_email)

    # A failed run is an error (the alarm's, and EventBridge Scheduler retries it within the hour)
    with pytest.raises(StaffAlertNotSentError):
        run_summary()
    assert sent() == []

    ses.verify_email_identity(EmailAddress=moto_aws.sender_email)
    assert run_summary()["received"] == 1
    assert len(sent()) == 1


def test_given_the_table_out_of_reach_then_the_run_fails_and_sends_nothing(
    moto_aws: Provisioned,
) -> None:
    boto3.client("dynamodb").delete_table(TableName=moto_aws.table_name)

    with pytest.raises(StorageUnavailableError):
        run_summary()
    assert sent() == []
