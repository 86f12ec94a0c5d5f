"""The digest of overdue requests: one email listing those past call_by, oldest first; none when
none are; never on a closed day; a query of the open-requests index, never a scan."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from callbacks.adapters import aws, store
from callbacks.core.settings import get_settings
from callbacks.handlers.digest import lambda_handler
from callbacks.models.record import ConsentRecord, StoredCallbackRequest, reference
from infra.local.lambda_events import lambda_context
from infra.provision import Provisioned
from tests.integration.helpers import counting_calls
from tests.integration.test_mark_called import get_page, press_button

# Tuesday December 1, 2026, 13:00 in Tupelo: the afternoon digest.
TUESDAY_1PM = "2026-12-01T19:00:00Z"
CANARY_NAME = "Zoë Canary"


def a_request(
    call_by: str, best_time: str = "morning", created_at: str = "2026-11-20T15:00:00Z"
) -> StoredCallbackRequest:
    request = StoredCallbackRequest(
        id=str(uuid.uuid4()),
        created_at=created_at,
        name=CANARY_NAME,
        phone="+16623771234",
        best_time=best_time,
        interest="scars-burns",
        message="call me",
        consent=ConsentRecord(agreed_at=created_at),
        expires_at=1_900_000_000,
        call_by=call_by,
    )
    assert store.save_new_request(request, dedupe_keys=[], now=1_795_000_000).created
    return request


def run_digest(at: str = TUESDAY_1PM) -> int:
    result = lambda_handler({"scheduled_time": at}, lambda_context("DigestFunction"))  # type: ignore[arg-type]
    listed: int = result["listed"]
    return listed


def sent() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def listed_references(body: str) -> list[str]:
    return re.findall(r'monospace;">([0-9A-Z]{8})</span>', body)


def links_in(body: str) -> dict[str, str]:
    return {
        urlsplit(unescape(href)).path.split("/")[2]: parse_qs(urlsplit(unescape(href)).query)["token"][0]
        for href in re.findall(r'href="([^"]*/contacted\?[^"]*)"', body)
    }


def test_given_no_requests_at_all_then_no_email(moto_aws: Provisioned) -> None:
    assert run_digest() == 0
    assert sent() == []


def test_given_open_requests_not_yet_due_then_no_email(moto_aws: Provisioned) -> None:
    a_request("2026-12-01T17:00:00-06:00", "afternoon")
    a_request("2026-12-02T12:00:00-06:00")

    assert run_digest() == 0
    assert sent() == []


def test_given_one_overdue_request_then_one_email_with_its_reference_best_time_lateness_and_link(
    moto_aws: Provisioned,
) -> None:
    late = a_request("2026-12-01T12:00:00-06:00")

    assert run_digest() == 1

    [email] = sent()
    assert email.subject.startswith("1 call-back request overdue - Tue, Dec 1, 2026 at 1:00 PM CST")
    assert email.destinations["ToAddresses"] == list(get_settings().office_emails)
    assert listed_references(email.body) == [reference(late.id)]
    assert "Morning (8 am - noon)" in email.body
    assert "1 hour late" in email.body
    assert "Tuesday, December 1 at noon" in email.body
    # Reference only: the name, number and message stay in the request's own email.
    for private in (CANARY_NAME, "377-1234", "3771234", "call me"):
        assert private not in email.body
    assert email.subject.count(reference(late.id)) == 0
    token = links_in(email.body)[late.id]
    assert get_page(late.id, token).status == 200


def test_given_many_overdue_then_one_email_oldest_deadline_first_without_the_ones_not_yet_due(
    moto_aws: Provisioned,
) -> None:
    hour = a_request("2026-12-01T12:00:00-06:00")
    oldest = a_request("2026-11-27T17:00:00-06:00", "anytime")
    day = a_request("2026-11-30T12:00:00-06:00")
    a_request("2026-12-01T17:00:00-06:00", "afternoon")  # due at 5 pm: not yet

    assert run_digest() == 3

    [email] = sent()
    assert email.subject.startswith("3 call-back requests overdue")
    assert listed_references(email.body) == [reference(r.id) for r in (oldest, day, hour)]
    assert "3 days 20 hours late" in email.body
    assert "1 day 1 hour late" in email.body
    assert set(links_in(email.body)) == {oldest.id, day.id, hour.id}


def test_given_an_overdue_request_marked_called_then_the_next_digest_leaves_it_out(
    moto_aws: Provisioned,
) -> None:
    called = a_request("2026-11-30T12:00:00-06:00")
    still_open = a_request("2026-11-30T17:00:00-06:00", "afternoon")
    run_digest("2026-12-01T14:00:00Z")  # the morning digest lists both
    [morning] = sent()
    assert set(listed_references(morning.body)) == {reference(called.id), reference(still_open.id)}

    assert press_button(called.id, links_in(morning.body)[called.id]).status == 200
    assert run_digest() == 1

    afternoon = sent()[1]
    assert listed_references(afternoon.body) == [reference(still_open.id)]


def test_given_the_only_overdue_request_marked_called_then_no_digest(moto_aws: Provisioned) -> None:
    only = a_request("2026-11-30T12:00:00-06:00")
    run_digest("2026-12-01T14:00:00Z")
    press_button(only.id, links_in(sent()[0].body)[only.id])

    assert run_digest() == 0
    assert len(sent()) == 1


@pytest.mark.parametrize(
    "closed",
    ["2026-12-05T14:00:00Z", "2026-11-26T19:00:00Z", "2026-07-03T13:00:00Z"],
    ids=["saturday", "thanksgiving", "observed-july-4"],
)
def test_given_a_day_the_office_is_closed_then_no_digest(moto_aws: Provisioned, closed: str) -> None:
    a_request("2026-06-30T12:00:00-05:00")

    assert run_digest(closed) == 0
    assert sent() == []


def test_given_the_digest_then_it_queries_the_open_index_and_never_scans(moto_aws: Provisioned) -> None:
    for day in range(23, 28):
        a_request(f"2026-11-{day}T12:00:00-06:00")

    with counting_calls(aws.dynamodb()) as counter:
        assert run_digest() == 5

    assert counter.calls == ["Query"]


def test_given_no_scheduled_time_then_now_is_used(moto_aws: Provisioned) -> None:
    a_request("2026-01-05T12:00:00-06:00")
    today = datetime.now(UTC)

    listed = lambda_handler({}, lambda_context("DigestFunction"))["listed"]  # type: ignore[arg-type]

    from callbacks.core import deadline

    calendar = deadline.office_calendar(get_settings())
    expected = 1 if deadline.is_office_day(today.astimezone(calendar.zone).date(), calendar) else 0
    assert listed == expected


def test_given_three_requests_sharing_a_deadline_then_the_digest_lists_them_in_the_order_they_arrived(
    moto_aws: Provisioned,
) -> None:
    # Tuesday Nov 24 at 9:30, 9:40 and 9:50 (CST), all asking for any time: due Tuesday at 5 pm.
    # Stored newest first, so the index's own order for their shared key is not the answer.
    arrived = ["2026-11-24T15:50:00.000Z", "2026-11-24T15:40:00.000Z", "2026-11-24T15:30:00.000Z"]
    requests = [a_request("2026-11-24T17:00:00-06:00", "anytime", created_at=at) for at in arrived]

    # Thursday's 8:00 digest.
    assert run_digest("2026-11-26T14:00:00Z") == 0  # Thanksgiving: the office is closed
    assert run_digest("2026-11-27T14:00:00Z") == 3

    (email,) = sent()
    assert listed_references(email.body) == [reference(request.id) for request in reversed(requests)]


def test_given_the_signing_secret_missing_then_the_digest_still_lists_the_overdue_requests_without_links(
    moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callbacks.adapters import signing

    late = a_request("2026-12-01T12:00:00-06:00")
    monkeypatch.delenv("SIGNING_SECRET")  # a function deployed without its secret
    get_settings.cache_clear()
    signing.forget_keys()

    assert run_digest() == 1

    (email,) = sent()
    assert listed_references(email.body) == [reference(late.id)]
    assert links_in(email.body) == {}
