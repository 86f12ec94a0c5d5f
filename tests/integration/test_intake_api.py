"""The intake handler against moto: what only an in-process test can see.

The response table's rows run in tests/integration/test_http_contract.py (and over HTTP in
tests/e2e). Here: the recorded sample events (infra/events/*.json, as `sam local generate-event`
makes them), the stored record, the AWS calls counted, the clock moved, failures injected, and
events API Gateway builds that no HTTP client can ask for. The table is built from template.yaml.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from callbacks.adapters import aws
from infra.provision import Provisioned
from tests.conftest import load_event
from tests.http_contract import BROWSER_ACCEPT
from tests.integration.helpers import (
    ALLOWED_ORIGIN,
    SOURCE_URL,
    VALID,
    counting_calls,
    form_event,
    invoke,
    json_event,
    multipart_event,
    post_event,
    requests_in,
    with_headers,
)

pytestmark = pytest.mark.usefixtures("moto_aws")


@pytest.fixture
def dynamodb() -> Any:
    return boto3.client("dynamodb")


def stored(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    return requests_in(dynamodb, table)


# --- the sample events and the stored record ---------------------------------------------------


def test_given_the_recorded_sam_events_when_invoked_then_each_is_answered_as_its_client_expects() -> None:
    assert invoke(load_event("post-json")).status == 201
    assert invoke(load_event("post-form")).status == 303  # same content: a duplicate, still thanked
    assert invoke(load_event("post-multipart")).status == 200
    assert invoke(load_event("preflight")).status == 204


def test_given_a_stored_request_then_the_record_holds_the_contract_fields_consent_and_expiry(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    answer = invoke(json_event(VALID))

    item = stored(dynamodb, moto_aws.table_name)[0]
    assert item["pk"]["S"] == f"request#{answer.json()['id']}"
    assert item["status"]["S"] == "new"
    assert item["created_at"]["S"].endswith("Z")
    assert item["name"]["S"] == "Jane Doe"
    assert item["email"]["S"] == "jane@example.com"
    assert item["best_time"]["S"] == "morning"
    assert item["interest"]["S"] == "fractional-co2-laser"
    assert item["source_url"]["S"] == SOURCE_URL
    consent = item["consent"]["M"]
    assert "may call me back at this number" in consent["text"]["S"]
    assert consent["agreed_at"]["S"] == item["created_at"]["S"]
    assert consent["source_url"]["S"] == SOURCE_URL
    assert consent["ip_address"]["S"] == "203.0.113.24"
    assert "notified_at" not in item
    from datetime import datetime

    created = datetime.fromisoformat(item["created_at"]["S"].replace("Z", "+00:00")).timestamp()
    assert int(item["expires_at"]["N"]) == int(created) + 365 * 86400


def test_given_optional_fields_left_out_then_defaults_apply_and_nothing_empty_is_stored(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    answer = invoke(
        form_event({"name": "Ana", "phone": "+44 20 7946 0958", "consent": True, "best_time": ""})
    )

    assert answer.status == 201
    item = stored(dynamodb, moto_aws.table_name)[0]
    assert item["best_time"]["S"] == "anytime"
    assert "interest" not in item  # nobody chose a treatment: none is recorded
    assert item["phone"]["S"] == "+442079460958"
    assert "email" not in item
    assert "message" not in item


# --- exactly one DynamoDB call ------------------------------------------------------------------


def test_given_a_new_request_then_exactly_one_dynamodb_call_is_made() -> None:
    with counting_calls(aws.dynamodb()) as counter:
        assert invoke(json_event(VALID, Idempotency_Key="form-1")).status == 201

    assert counter.calls == ["TransactWriteItems"]


def test_given_a_duplicate_then_it_is_recognised_in_one_dynamodb_call() -> None:
    invoke(json_event(VALID))
    with counting_calls(aws.dynamodb()) as counter:
        assert invoke(json_event(VALID)).status == 200

    assert counter.calls == ["TransactWriteItems"]


# --- duplicates and new requests ---------------------------------------------------------------


def test_given_the_same_idempotency_key_and_content_a_day_later_then_200_with_the_same_id(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    from datetime import UTC, datetime, timedelta

    first = invoke(json_event(VALID, Idempotency_Key="form-abc_123"))
    # Past the content fingerprint's 10 minutes: only the key can tell this retry from a new request.
    with mock.patch("callbacks.handlers.api.callback_requests.datetime") as clock:
        clock.now.return_value = datetime.now(UTC) + timedelta(hours=23)
        retry = invoke(json_event(VALID, Idempotency_Key="form-abc_123"))

    assert (first.status, retry.status) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert len(stored(dynamodb, moto_aws.table_name)) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"phone": "+1 662 555 0142"},
        {"name": "John Doe"},
        {"interest": "scars-burns"},
        {"message": "Other question"},
    ],
)
def test_given_a_different_phone_name_interest_or_message_then_a_new_request(change: dict[str, str]) -> None:
    first = invoke(json_event(VALID))
    other = invoke(json_event({**VALID, **change}))

    assert other.status == 201
    assert other.json()["id"] != first.json()["id"]


def test_given_the_same_content_more_than_ten_minutes_later_then_a_new_request(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    from datetime import UTC, datetime, timedelta

    first = invoke(json_event(VALID))
    later = datetime.now(UTC) + timedelta(minutes=10, seconds=5)
    with mock.patch("callbacks.handlers.api.callback_requests.datetime") as clock:
        clock.now.return_value = later
        again = invoke(json_event(VALID))

    assert again.status == 201
    assert again.json()["id"] != first.json()["id"]
    assert len(stored(dynamodb, moto_aws.table_name)) == 2


def test_given_the_same_content_nine_minutes_later_then_still_a_duplicate() -> None:
    from datetime import UTC, datetime, timedelta

    first = invoke(json_event(VALID))
    with mock.patch("callbacks.handlers.api.callback_requests.datetime") as clock:
        clock.now.return_value = datetime.now(UTC) + timedelta(minutes=9)
        again = invoke(json_event(VALID))

    assert (again.status, again.json()["id"]) == (200, first.json()["id"])


# --- honeypot, and bodies only API Gateway builds ----------------------------------------------


@pytest.mark.parametrize(("accept", "status"), [("application/json", 201), (BROWSER_ACCEPT, 303)])
def test_given_the_honeypot_is_filled_then_one_dynamodb_call_keeps_the_catch_aside(
    accept: str, status: int
) -> None:
    with counting_calls(aws.dynamodb()) as counter:
        bot = invoke(form_event({**VALID, "website": "http://cheap-pills.example"}, accept=accept))

    assert bot.status == status
    if status == 201:  # a receipt like a person's, deadline included
        assert bot.json()["call_by_text"].startswith("We will call you by ")
    # spam#<id> and the address's hourly counter, in one transaction (test_real_visitors.py)
    assert counter.calls == ["TransactWriteItems"]


def test_given_base64_bytes_that_are_not_utf8_then_400() -> None:
    event = post_event(b"\xff\xfe\x00name=J", "application/x-www-form-urlencoded", base64_encoded=True)

    answer = invoke(event)

    assert answer.status == 400
    assert answer.json()["error"] == "malformed_body"


@pytest.mark.parametrize("body", ["[" * 30_000, '{"a":' * 6_000], ids=["arrays", "objects"])
def test_given_json_nested_deeper_than_python_recurses_then_400_not_a_crash(body: str) -> None:
    # Within the 32 KiB limit, a bot's nesting makes json.loads raise RecursionError.
    answer = invoke(post_event(body, "application/json"))

    assert answer.status == 400
    assert answer.json()["error"] == "malformed_body"


def test_given_undecodable_base64_then_400() -> None:
    event = post_event("", "application/x-www-form-urlencoded")
    event["body"], event["isBase64Encoded"] = "%%%not-base64%%%", True

    answer = invoke(event)

    assert answer.status == 400


def test_given_a_base64_encoded_body_over_32_kib_then_413_and_nothing_parsed() -> None:
    body = json.dumps({**VALID, "message": "a" * 33000})

    answer = invoke(post_event(body, "application/json", base64_encoded=True))

    assert answer.status == 413
    assert answer.json()["error"] == "body_too_large"
    assert answer.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


# --- failures --------------------------------------------------------------------------------


def test_given_dynamodb_cannot_be_reached_then_503() -> None:
    error = EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
    with mock.patch.object(aws.dynamodb(), "transact_write_items", side_effect=error):
        answer = invoke(json_event(VALID))

    assert answer.status == 503
    assert "Retry-After".lower() in answer.headers


def test_given_an_unexpected_failure_then_500_without_a_stack_trace() -> None:
    with mock.patch(
        "callbacks.handlers.api.callback_requests.register_callback_request",
        side_effect=RuntimeError("boom +16623776290"),
    ):
        answer = invoke(json_event(VALID))

    assert answer.status == 500
    assert "boom" not in answer.text
    assert "Traceback" not in answer.text


# --- the form's script ------------------------------------------------------------------------


def test_given_the_script_route_then_javascript_is_served() -> None:
    event = load_event("preflight")
    event.update(httpMethod="GET", path="/callback-form.js", resource="/callback-form.js")
    with_headers(event, Origin=None)

    answer = invoke(event)

    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert "callback-form" in answer.text


def test_given_a_multipart_body_base64_encoded_by_api_gateway_then_it_is_decoded() -> None:
    event = multipart_event(VALID)
    assert base64.b64decode(event["body"]).startswith(b"--")

    assert invoke(event).status == 201


@pytest.mark.parametrize("header", ["idempotency-key", "IDEMPOTENCY-KEY"])
def test_given_the_idempotency_key_header_in_any_case_then_it_is_honoured(header: str) -> None:
    # HTTP/2 browsers send header names in lower case, and API Gateway passes them on as sent.
    def event(email: str) -> dict[str, Any]:
        built = json_event({**VALID, "email": email})
        built["headers"][header] = "form-7"
        built["multiValueHeaders"][header] = ["form-7"]
        return built

    # Only the key, if read, makes an email correction within the fingerprint's window a new request.
    first, corrected = invoke(event("jane@exmaple.com")), invoke(event("jane@example.com"))

    assert (first.status, corrected.status) == (201, 201)
    assert corrected.json()["id"] != first.json()["id"]
