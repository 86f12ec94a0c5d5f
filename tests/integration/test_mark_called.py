"""Mark as called: the signed link's page (GET changes nothing), its button (POST marks once), and
every kind of bad link, through the real intake handler against moto."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from callbacks.adapters import aws, signing, store
from callbacks.core import deadline
from callbacks.core.settings import get_settings
from callbacks.logic import follow_up
from callbacks.models.record import ConsentRecord, StoredCallbackRequest, reference
from infra.provision import Provisioned
from tests.conftest import load_event
from tests.http_contract import BROWSER_ACCEPT, Answer
from tests.integration.helpers import counting_calls, invoke, metric_blobs, with_headers

API_ORIGIN = "https://abc123.execute-api.us-east-1.amazonaws.com"
CREATED_AT = "2026-11-23T19:23:00Z"
CALL_BY = "2026-11-24T12:00:00-06:00"


def a_request(**fields: Any) -> StoredCallbackRequest:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "created_at": CREATED_AT,
        "name": "Zoë O'Brien-Walker",
        "phone": "+16623771234",
        "email": "zoe@example.com",
        "best_time": "morning",
        "interest": "scars-burns",
        "message": "Mornings please",
        "consent": ConsentRecord(agreed_at=CREATED_AT),
        "expires_at": 1_900_000_000,
        "call_by": CALL_BY,
        **fields,
    }
    return StoredCallbackRequest(**values)


@pytest.fixture
def saved(moto_aws: Provisioned) -> StoredCallbackRequest:
    request = a_request()
    assert store.save_new_request(request, dedupe_keys=[], now=1_795_000_000).created
    return request


def token_for(request_id: str, moto_aws: Provisioned, expires: datetime | None = None) -> str:
    return follow_up.sign(request_id, expires or datetime.now(UTC) + timedelta(days=14))


def forged_token(request_id: str) -> str:
    """A token signed as we sign, but with a key that is not ours."""
    epoch = int((datetime.now(UTC) + timedelta(days=14)).timestamp())
    digest = hmac.new(b"not-our-key", f"{request_id}.{epoch}".encode(), hashlib.sha256).digest()
    return f"{epoch}.{base64.urlsafe_b64encode(digest).rstrip(b'=').decode()}"


def lose_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A function whose configuration lost the signing secret (a new process: no copy of it)."""
    monkeypatch.delenv("SIGNING_SECRET")
    get_settings.cache_clear()
    signing.forget_keys()


def link_event(
    method: str, request_id: str, token: str | None, *, origin: str | None = None
) -> dict[str, Any]:
    """The event API Gateway makes of a click on the link (GET) or on the page's button (POST)."""
    event = copy.deepcopy(load_event("post-json"))
    event.update(
        httpMethod=method,
        resource="/callback-requests/{id}/contacted",
        path=f"/callback-requests/{request_id}/contacted",
        pathParameters={"id": request_id},
        queryStringParameters=None if token is None else {"token": token},
        multiValueQueryStringParameters=None if token is None else {"token": [token]},
        body=None,
        isBase64Encoded=False,
    )
    event["requestContext"].update(httpMethod=method, resourcePath="/callback-requests/{id}/contacted")
    content_type = "application/x-www-form-urlencoded" if method == "POST" else None
    with_headers(event, Content_Type=content_type, Accept=BROWSER_ACCEPT, Origin=origin, Idempotency_Key=None)
    return event


def get_page(request_id: str, token: str | None, **kwargs: Any) -> Answer:
    return invoke(link_event("GET", request_id, token, **kwargs))


def press_button(request_id: str, token: str | None, origin: str | None = API_ORIGIN) -> Answer:
    return invoke(link_event("POST", request_id, token, origin=origin))


def item_of(request_id: str) -> dict[str, Any]:
    table = get_settings().table_name
    item: dict[str, Any] = boto3.client("dynamodb").get_item(
        TableName=table, Key={"pk": {"S": f"request#{request_id}"}}
    )["Item"]
    return item


def open_ids() -> list[str]:
    return [item.id for item in store.open_requests_due_before(datetime(2100, 1, 1, tzinfo=UTC))]


def unchanged(request: StoredCallbackRequest) -> None:
    item = item_of(request.id)
    assert item["status"]["S"] == "new"
    assert "contacted_at" not in item
    assert request.id in open_ids()


def visible_text(page: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())


# --- the link's page: GET -------------------------------------------------------------------------


def test_given_the_emails_link_when_opened_then_a_small_page_with_one_button_and_nothing_changes(
    saved: StoredCallbackRequest, moto_aws: Provisioned
) -> None:
    token = token_for(saved.id, moto_aws)

    answer = get_page(saved.id, token)

    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-store"
    text = visible_text(answer.text)
    assert f"Mark request {reference(saved.id)} as called?" in text
    assert "Zoë" in text
    assert "Received Mon, Nov 23, 2026 at 1:23 PM CST" in text
    # Nothing personal beyond the first name.
    for private in ("O'Brien", "O&#x27;Brien", "377", "zoe@example.com", "Mornings please"):
        assert private not in answer.text
    [form] = re.findall(r"<form [^>]*>", answer.text)
    assert 'method="post"' in form
    assert f'action="contacted?token={token}"' in form
    assert answer.text.count("<button") == 1
    unchanged(saved)


def test_given_a_scanner_opens_the_link_many_times_then_nothing_changes_and_no_write_is_made(
    saved: StoredCallbackRequest, moto_aws: Provisioned
) -> None:
    token = token_for(saved.id, moto_aws)

    with counting_calls(aws.dynamodb()) as counter:
        for _ in range(3):
            assert get_page(saved.id, token).status == 200

    assert set(counter.calls) == {"GetItem"}
    unchanged(saved)


def test_given_a_website_origin_or_any_origin_then_the_link_routes_answer_without_cors(
    saved: StoredCallbackRequest, moto_aws: Provisioned
) -> None:
    token = token_for(saved.id, moto_aws)
    for origin in ("https://www.accentplasticsurgery.example", API_ORIGIN, "https://elsewhere.example"):
        answer = get_page(saved.id, token, origin=origin)
        assert answer.status == 200
        assert not [name for name in answer.headers if name.startswith("access-control-")]


# --- the button: POST -----------------------------------------------------------------------------


def test_given_the_pages_button_when_pressed_then_marked_called_once_out_of_the_open_index_and_counted(
    saved: StoredCallbackRequest, moto_aws: Provisioned, capsys: pytest.CaptureFixture[str]
) -> None:
    token = token_for(saved.id, moto_aws)
    capsys.readouterr()

    answer = press_button(saved.id, token)

    assert answer.status == 200
    assert answer.headers["cache-control"] == "no-store"
    assert not [name for name in answer.headers if name.startswith("access-control-")]
    assert "Marked as called" in visible_text(answer.text)
    item = item_of(saved.id)
    assert item["status"]["S"] == "contacted"
    contacted_at = datetime.fromisoformat(item["contacted_at"]["S"].replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - contacted_at).total_seconds()) < 60
    assert "follow_up" not in item
    assert "open_call_by" not in item
    assert saved.id not in open_ids()
    [blob] = metric_blobs(capsys.readouterr().out)
    created = datetime.fromisoformat(CREATED_AT.replace("Z", "+00:00"))
    assert blob["TimeToCallbackMinutes"] == [float(deadline.minutes_to_call_back(created, contacted_at))]
    assert blob["CalledByDeadline"] == [0.0]  # the deadline was in 2026-11; it is later now
    assert blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert saved.id not in json.dumps(blob)


def test_given_a_call_before_the_deadline_then_called_by_deadline_is_one(
    moto_aws: Provisioned, capsys: pytest.CaptureFixture[str]
) -> None:
    soon = (datetime.now(UTC) + timedelta(days=2)).isoformat(timespec="seconds")
    request = a_request(created_at="2026-12-01T10:00:00Z", call_by=soon)
    store.save_new_request(request, dedupe_keys=[], now=1_795_000_000)
    capsys.readouterr()

    assert press_button(request.id, token_for(request.id, moto_aws)).status == 200

    [blob] = metric_blobs(capsys.readouterr().out)
    assert blob["CalledByDeadline"] == [1.0]


def test_given_a_second_press_then_it_says_already_marked_and_when_and_changes_nothing(
    saved: StoredCallbackRequest, moto_aws: Provisioned, capsys: pytest.CaptureFixture[str]
) -> None:
    token = token_for(saved.id, moto_aws)
    press_button(saved.id, token)
    first = item_of(saved.id)["contacted_at"]["S"]
    capsys.readouterr()

    again = press_button(saved.id, token)

    assert again.status == 200
    text = visible_text(again.text)
    assert "Already marked as called" in text
    assert "marked as called on " in text
    assert item_of(saved.id)["contacted_at"]["S"] == first
    assert not [blob for blob in metric_blobs(capsys.readouterr().out) if "TimeToCallbackMinutes" in blob]
    # And the page of the link says so too, rather than offering the button again.
    page = get_page(saved.id, token)
    assert "Already marked as called" in visible_text(page.text)
    assert "<button" not in page.text


def test_given_two_colleagues_racing_from_the_email_and_the_digest_then_one_marks_and_one_is_told(
    saved: StoredCallbackRequest, moto_aws: Provisioned
) -> None:
    from_email = token_for(saved.id, moto_aws, datetime.now(UTC) + timedelta(days=13))
    from_digest = token_for(saved.id, moto_aws, datetime.now(UTC) + timedelta(days=14))
    # Both opened the page while it was still open...
    assert "<button" in get_page(saved.id, from_email).text
    assert "<button" in get_page(saved.id, from_digest).text

    # ...and both press; the conditional update lets exactly one through.
    with counting_calls(aws.dynamodb()) as counter:
        answers = [press_button(saved.id, from_email), press_button(saved.id, from_digest)]

    assert counter.calls == ["UpdateItem", "UpdateItem"]  # one call each, no read-then-write
    texts = [visible_text(answer.text) for answer in answers]
    assert ["Marked as called" in text for text in texts] == [True, False]
    assert "Already marked as called" in texts[1]


# --- links that must change nothing ---------------------------------------------------------------


@pytest.fixture
def bad_link(saved: StoredCallbackRequest, moto_aws: Provisioned) -> Callable[[str], str]:
    other = a_request()
    store.save_new_request(other, dedupe_keys=[], now=1_795_000_000)
    good = token_for(saved.id, moto_aws)
    expires = good.split(".")[0]
    kinds = {
        "forged": forged_token(saved.id),
        "another request's": token_for(other.id, moto_aws),
        "expired": token_for(saved.id, moto_aws, datetime.now(UTC) - timedelta(seconds=1)),
        "extended": f"{int(expires) + 86400}.{good.split('.')[1]}",
        "truncated": good[:-3],
        "missing": "",
        "garbage": "'; DROP TABLE--",
    }
    return kinds.__getitem__


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("forged", (403, "This link is not valid")),
        ("another request's", (403, "This link is not valid")),
        ("extended", (403, "This link is not valid")),
        ("expired", (410, "This link has expired")),
        ("truncated", (400, "This link is incomplete")),
        ("missing", (400, "This link is incomplete")),
        ("garbage", (400, "This link is incomplete")),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_given_a_bad_token_then_a_clear_page_and_nothing_changes(
    saved: StoredCallbackRequest,
    bad_link: Callable[[str], str],
    kind: str,
    expected: tuple[int, str],
    method: str,
) -> None:
    status, title = expected
    token = bad_link(kind) or None
    answer = get_page(saved.id, token) if method == "GET" else press_button(saved.id, token)

    assert answer.status == status
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "no-store"
    assert f"<h1>{title}</h1>" in answer.text
    assert "Nothing was changed" in answer.text
    assert "<button" not in answer.text
    unchanged(saved)


def test_given_a_link_with_a_mangled_request_id_then_incomplete_and_nothing_read(
    saved: StoredCallbackRequest, moto_aws: Provisioned
) -> None:
    token = token_for(saved.id, moto_aws)
    with counting_calls(aws.dynamodb()) as counter:
        answer = press_button(saved.id[:-4], token)

    assert answer.status == 400
    assert counter.calls == []
    unchanged(saved)


def test_given_a_signed_link_to_a_request_no_longer_stored_then_404_page(moto_aws: Provisioned) -> None:
    gone = str(uuid.uuid4())
    for answer in (get_page(gone, token_for(gone, moto_aws)), press_button(gone, token_for(gone, moto_aws))):
        assert answer.status == 404
        assert "This request is no longer stored" in answer.text


def test_given_the_secret_cannot_be_read_then_try_again_page_and_nothing_changes(
    saved: StoredCallbackRequest, moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = token_for(saved.id, moto_aws)
    lose_the_secret(monkeypatch)

    answer = press_button(saved.id, token)

    assert answer.status == 503
    assert answer.headers["retry-after"] == "60"
    assert "Please try again in a minute" in answer.text
    unchanged(saved)


# --- the link in the staff alert ------------------------------------------------------------------


def test_given_a_new_request_then_its_alert_carries_a_link_that_opens_its_page(
    saved: StoredCallbackRequest, moto_aws: Provisioned
) -> None:
    from callbacks.logic import alerting

    alerting.forget_recent_alerts()
    assert alerting.alert_staff(saved, get_settings()) == "sent"

    [email] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert email.subject.endswith("by Tue Nov 24, noon")
    [link] = {unescape(href) for href in re.findall(r'href="([^"]*contacted[^"]*)"', email.body)}
    url = urlsplit(link)
    assert f"{url.scheme}://{url.netloc}" == get_settings().api_base_url
    assert url.path == f"/callback-requests/{saved.id}/contacted"
    [token] = parse_qs(url.query)["token"]
    expires = datetime.fromtimestamp(int(token.split(".")[0]), UTC)
    assert timedelta(days=13, hours=23) < expires - datetime.now(UTC) <= timedelta(days=14)
    assert get_page(saved.id, token).status == 200


def test_given_the_secret_cannot_be_read_then_the_alert_goes_out_without_its_link(
    saved: StoredCallbackRequest, moto_aws: Provisioned, monkeypatch: pytest.MonkeyPatch
) -> None:
    from callbacks.logic import alerting

    lose_the_secret(monkeypatch)
    alerting.forget_recent_alerts()

    assert alerting.alert_staff(saved, get_settings()) == "sent"

    [email] = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    assert "contacted?token" not in email.body
    assert "Call by" in email.body
