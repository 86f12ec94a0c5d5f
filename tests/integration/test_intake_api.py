"""The intake handler against moto: every row of the contract's response table.

Events are API Gateway REST proxy events (infra/events/*.json, as `sam local generate-event`
makes them); the table is built from template.yaml.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError

from callbacks import aws
from infra.provision import Provisioned
from tests.conftest import load_event
from tests.integration.helpers import (
    ALLOWED_ORIGIN,
    BROWSER_ACCEPT,
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


# --- new request stored: 201 -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_event", [json_event, form_event, multipart_event], ids=["json", "form", "multipart"]
)
def test_given_a_valid_request_in_any_content_type_when_posted_then_201_with_an_id_and_one_record(
    make_event: Any, dynamodb: Any, moto_aws: Provisioned
) -> None:
    answer = invoke(make_event(VALID))

    assert answer.status == 201
    body = answer.json()
    assert body["status"] == "received"
    records = stored(dynamodb, moto_aws.table_name)
    assert [record["id"]["S"] for record in records] == [body["id"]]
    assert records[0]["phone"]["S"] == "+16623776290"
    assert answer.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


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
    assert item["interest"]["S"] == "fractional-co2-laser"
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


# --- duplicates: 200 with the same id -----------------------------------------------------------


def test_given_the_same_idempotency_key_and_content_a_day_later_then_200_with_the_same_id(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    from datetime import UTC, datetime, timedelta

    first = invoke(json_event(VALID, Idempotency_Key="form-abc_123"))
    # Past the content fingerprint's 10 minutes: only the key can tell this retry from a new request.
    with mock.patch("callbacks.intake.datetime") as clock:
        clock.now.return_value = datetime.now(UTC) + timedelta(hours=23)
        retry = invoke(json_event(VALID, Idempotency_Key="form-abc_123"))

    assert (first.status, retry.status) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    assert len(stored(dynamodb, moto_aws.table_name)) == 1


def test_given_the_same_idempotency_key_with_a_corrected_phone_then_the_correction_is_a_new_request(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    first = invoke(json_event({**VALID, "phone": "(662) 377-6209"}, Idempotency_Key="form-abc_123"))
    corrected = invoke(json_event(VALID, Idempotency_Key="form-abc_123"))

    assert (first.status, corrected.status) == (201, 201)
    assert corrected.json()["id"] != first.json()["id"]
    phones = sorted(item["phone"]["S"] for item in stored(dynamodb, moto_aws.table_name))
    assert phones == ["+16623776209", "+16623776290"]


def test_given_the_same_key_with_only_the_email_corrected_then_it_is_stored_though_the_fingerprint_matches(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    invoke(json_event({**VALID, "email": "jane@exmaple.com"}, Idempotency_Key="form-9"))
    corrected = invoke(json_event(VALID, Idempotency_Key="form-9"))

    assert corrected.status == 201
    emails = sorted(item["email"]["S"] for item in stored(dynamodb, moto_aws.table_name))
    assert emails == ["jane@example.com", "jane@exmaple.com"]


def test_given_two_tabs_with_different_keys_and_the_same_content_then_the_second_is_a_duplicate() -> None:
    first = invoke(json_event(VALID, Idempotency_Key="tab-1"))
    second = invoke(json_event(VALID, Idempotency_Key="tab-2"))

    assert (second.status, second.json()["id"]) == (200, first.json()["id"])


def test_given_the_same_idempotency_key_as_a_form_field_then_200_with_the_same_id() -> None:
    first = invoke(form_event({**VALID, "idempotency_key": "k1"}, accept="application/json"))
    retry = invoke(multipart_event({**VALID, "idempotency_key": "k1"}))
    changed = invoke(multipart_event({**VALID, "message": "other", "idempotency_key": "k1"}))

    assert (first.status, retry.status, changed.status) == (201, 200, 201)
    assert retry.json()["id"] == first.json()["id"]
    assert changed.json()["id"] != first.json()["id"]


def test_given_the_same_phone_name_interest_and_message_without_a_key_then_a_duplicate(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    first = invoke(json_event(VALID))
    # Another notation of the same number, the name in other case and spacing: the same request.
    again = invoke(
        json_event({**VALID, "phone": "662.377.6290", "name": "jane  DOE", "best_time": "evening"})
    )

    assert again.status == 200
    assert again.json()["id"] == first.json()["id"]
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
    with mock.patch("callbacks.intake.datetime") as clock:
        clock.now.return_value = later
        again = invoke(json_event(VALID))

    assert again.status == 201
    assert again.json()["id"] != first.json()["id"]
    assert len(stored(dynamodb, moto_aws.table_name)) == 2


def test_given_the_same_content_nine_minutes_later_then_still_a_duplicate() -> None:
    from datetime import UTC, datetime, timedelta

    first = invoke(json_event(VALID))
    with mock.patch("callbacks.intake.datetime") as clock:
        clock.now.return_value = datetime.now(UTC) + timedelta(minutes=9)
        again = invoke(json_event(VALID))

    assert (again.status, again.json()["id"]) == (200, first.json()["id"])


# --- plain HTML form posts -------------------------------------------------------------------


def test_given_a_browser_form_post_when_stored_then_303_to_the_thank_you_page(
    dynamodb: Any, moto_aws: Provisioned, environment: dict[str, str]
) -> None:
    answer = invoke(form_event(VALID, accept=BROWSER_ACCEPT))

    assert answer.status == 303
    assert answer.headers["location"] == environment["THANK_YOU_URL"]
    assert len(stored(dynamodb, moto_aws.table_name)) == 1


def test_given_a_browser_form_post_of_a_duplicate_then_also_303(environment: dict[str, str]) -> None:
    invoke(form_event(VALID, accept=BROWSER_ACCEPT))
    answer = invoke(form_event(VALID, accept=BROWSER_ACCEPT))

    assert answer.status == 303
    assert answer.headers["location"] == environment["THANK_YOU_URL"]


def test_given_a_browser_form_post_with_invalid_fields_then_422_html_page_listing_each_problem(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    answer = invoke(
        form_event({"name": "<b>Bob</b>", "phone": "12", "consent": False}, accept=BROWSER_ACCEPT)
    )

    assert answer.status == 422
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.body
    assert '<html lang="en">' in page
    assert "<li><strong>Name:</strong>" in page
    assert "<li><strong>Phone:</strong> Please enter a 10-digit US phone number" in page
    assert "<li><strong>Consent:</strong>" in page
    assert "<b>Bob</b>" not in page
    assert 'href="https://www.accentplasticsurgery.example/fractional-co2-laser-resurfacing/"' in page
    assert stored(dynamodb, moto_aws.table_name) == []


# --- honeypot -------------------------------------------------------------------------------


@pytest.mark.parametrize("accept", ["application/json", BROWSER_ACCEPT])
def test_given_the_honeypot_is_filled_then_the_answer_looks_like_success_and_nothing_is_stored(
    accept: str, dynamodb: Any, moto_aws: Provisioned
) -> None:
    real = invoke(form_event({**VALID, "phone": "+1 662 555 0142"}, accept=accept))
    with counting_calls(aws.dynamodb()) as counter:
        bot = invoke(form_event({**VALID, "website": "http://cheap-pills.example"}, accept=accept))

    assert bot.status == real.status
    assert bot.headers.get("location") == real.headers.get("location")
    if accept == "application/json":
        assert set(bot.json()) == {"id", "status"}
        assert bot.json()["id"] != real.json()["id"]
    assert counter.calls == []
    assert len(stored(dynamodb, moto_aws.table_name)) == 1


def test_given_the_honeypot_is_filled_and_other_fields_are_garbage_then_still_a_quiet_success() -> None:
    answer = invoke(json_event({"website": "x", "phone": "nonsense"}))

    assert answer.status == 201
    assert answer.json()["status"] == "received"


# --- malformed bodies: 400 --------------------------------------------------------------------


@pytest.mark.parametrize(
    "event",
    [
        post_event('{"name": "Jane", ', "application/json"),
        post_event("[1, 2, 3]", "application/json"),
        post_event('"just a string"', "application/json"),
        post_event(
            '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nJane\r\n--x--\r\n',
            "multipart/form-data",
        ),
        post_event(b"\xff\xfe\x00name=J", "application/x-www-form-urlencoded", base64_encoded=True),
    ],
    ids=["truncated-json", "json-array", "json-string", "multipart-no-boundary", "not-utf8"],
)
def test_given_a_malformed_body_then_400_json_and_never_a_crash(event: dict[str, Any]) -> None:
    answer = invoke(event)

    assert answer.status == 400
    assert answer.json()["error"] == "malformed_body"
    assert "Traceback" not in answer.body


def test_given_a_multipart_body_without_boundary_then_400() -> None:
    answer = invoke(post_event("--x\r\n\r\n", "multipart/form-data"))

    assert answer.status == 400
    assert answer.json()["error"] == "malformed_body"


def test_given_undecodable_base64_then_400() -> None:
    event = post_event("", "application/x-www-form-urlencoded")
    event["body"], event["isBase64Encoded"] = "%%%not-base64%%%", True

    answer = invoke(event)

    assert answer.status == 400


# --- size and type -----------------------------------------------------------------------------


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_given_a_body_over_32_kib_then_413_and_nothing_parsed(base64_encoded: bool) -> None:
    body = json.dumps({**VALID, "message": "a" * 33000})

    answer = invoke(post_event(body, "application/json", base64_encoded=base64_encoded))

    assert answer.status == 413
    assert answer.json()["error"] == "body_too_large"
    assert answer.headers["access-control-allow-origin"] == ALLOWED_ORIGIN


def test_given_a_body_of_exactly_32_kib_then_it_is_read() -> None:
    body = json.dumps({**VALID, "message": ""})
    body = body[:-1] + " " * (32 * 1024 - len(body)) + "}"

    assert invoke(post_event(body, "application/json")).status == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "image/png"])
def test_given_another_content_type_then_415(content_type: str) -> None:
    answer = invoke(post_event("name=Jane", content_type))

    assert answer.status == 415
    assert "application/json" in answer.json()["message"]


# --- invalid fields: 422 JSON -----------------------------------------------------------------


def test_given_several_invalid_fields_then_422_naming_each_with_a_readable_message() -> None:
    answer = invoke(
        json_event(
            {
                "name": "R2-D2",
                "phone": "555-1234",
                "email": "not-an-email",
                "best_time": "midnight",
                "interest": "botox",
                "message": "x" * 1001,
                "consent": False,
                "source_url": "javascript:alert(1)",
            },
            Idempotency_Key="bad key!",
        )
    )

    assert answer.status == 422
    body = answer.json()
    assert body["error"] == "invalid_fields"
    problems = {problem["field"]: problem["message"] for problem in body["errors"]}
    assert set(problems) == {
        "name",
        "phone",
        "email",
        "best_time",
        "interest",
        "message",
        "consent",
        "source_url",
        "idempotency_key",
    }
    assert problems["phone"].startswith("Please enter a 10-digit US phone number")
    for message in problems.values():
        assert message.endswith(".")
        assert "pydantic" not in message.lower()
        assert "Input should" not in message


def test_given_required_fields_missing_then_each_is_named() -> None:
    answer = invoke(json_event({}))

    assert answer.status == 422
    assert {problem["field"] for problem in answer.json()["errors"]} == {"name", "phone", "consent"}


def test_given_json_values_of_the_wrong_type_then_422_not_a_crash() -> None:
    answer = invoke(
        json_event({"name": {"first": "Jane"}, "phone": 6623776290, "consent": "yes", "message": {"a": 1}})
    )

    assert answer.status == 422
    assert {problem["field"] for problem in answer.json()["errors"]} == {"name", "phone", "message"}


# --- origins and CORS -------------------------------------------------------------------------


def test_given_a_browser_post_from_an_origin_not_allowed_then_403_without_cors_headers(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    answer = invoke(json_event(VALID, origin="https://evil.example"))

    assert answer.status == 403
    assert not [name for name in answer.headers if name.startswith("access-control-")]
    assert stored(dynamodb, moto_aws.table_name) == []


def test_given_no_origin_header_then_an_api_client_is_served() -> None:
    assert invoke(json_event(VALID, origin=None)).status == 201


@pytest.mark.parametrize(
    "origin", ["https://www.accentplasticsurgery.example", "https://accentplasticsurgery.example"]
)
def test_given_a_preflight_from_an_allowed_origin_then_cors_headers_for_that_origin(origin: str) -> None:
    event = with_headers(load_event("preflight"), Origin=origin)

    answer = invoke(event)

    assert answer.status == 204
    assert answer.headers["access-control-allow-origin"] == origin
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "content-type" in allowed
    assert "idempotency-key" in allowed
    assert int(answer.headers["access-control-max-age"]) > 0


def test_given_a_preflight_from_another_origin_then_no_cors_headers() -> None:
    answer = invoke(with_headers(load_event("preflight"), Origin="https://evil.example"))

    assert answer.status == 403
    assert not [name for name in answer.headers if name.startswith("access-control-")]


# --- storage unavailable: 503 -----------------------------------------------------------------


def test_given_the_table_is_gone_then_503_with_retry_after_and_no_aws_error_text(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    dynamodb.delete_table(TableName=moto_aws.table_name)

    answer = invoke(json_event(VALID))

    assert answer.status == 503
    assert int(answer.headers["retry-after"]) > 0
    assert answer.json()["error"] == "storage_unavailable"
    assert "ResourceNotFound" not in answer.body
    assert "arn:" not in answer.body


def test_given_dynamodb_cannot_be_reached_then_503() -> None:
    error = EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
    with mock.patch.object(aws.dynamodb(), "transact_write_items", side_effect=error):
        answer = invoke(json_event(VALID))

    assert answer.status == 503
    assert "Retry-After".lower() in answer.headers


def test_given_an_unexpected_failure_then_500_without_a_stack_trace() -> None:
    with mock.patch(
        "callbacks.intake.register_callback_request", side_effect=RuntimeError("boom +16623776290")
    ):
        answer = invoke(json_event(VALID))

    assert answer.status == 500
    assert "boom" not in answer.body
    assert "Traceback" not in answer.body


# --- the form's script ------------------------------------------------------------------------


def test_given_the_script_route_then_javascript_is_served() -> None:
    event = load_event("preflight")
    event.update(httpMethod="GET", path="/callback-form.js", resource="/callback-form.js")
    with_headers(event, Origin=None)

    answer = invoke(event)

    assert answer.status == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert "callback-form" in answer.body


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
