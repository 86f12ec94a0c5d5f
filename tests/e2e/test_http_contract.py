"""The HTTP contract's response table, row by row, over real HTTP against the local stack.

Given the local stack (the real intake handler behind the local API Gateway), when a client posts
what the row describes, then it gets that row's status, headers and body.
"""

from __future__ import annotations

import itertools
import json
import random
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.conftest import HttpResponse, RunningStack, wait_for

pytestmark = pytest.mark.e2e

PATH = "/callback-requests"
JSON = {"Content-Type": "application/json", "Accept": "application/json"}
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
_numbers = itertools.count(random.SystemRandom().randrange(0, 9000, 10))


def new_phone() -> tuple[str, str]:
    """A valid number no other test uses (dedupe and the daily cap key on the phone)."""
    number = next(_numbers) % 10_000
    return f"(601) 326-{number:04d}", f"+1601326{number:04d}"


def valid_fields(**overrides: Any) -> dict[str, Any]:
    phone, _ = new_phone()
    fields: dict[str, Any] = {
        "name": "Jane Doe",
        "phone": phone,
        "best_time": "morning",
        "interest": "scars-burns",
        "message": f"Please call about the laser. {uuid.uuid4().hex[:8]}",
        "consent": True,
    }
    fields.update(overrides)
    return fields


def multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    """A multipart/form-data body built by hand, as a browser's FormData sends it."""
    boundary = f"----e2eBoundary{uuid.uuid4().hex}"
    lines: list[str] = []
    for name, value in fields.items():
        lines += [f"--{boundary}", f'Content-Disposition: form-data; name="{name}"', "", value]
    lines += [f"--{boundary}--", ""]
    return "\r\n".join(lines).encode(), f"multipart/form-data; boundary={boundary}"


def post_json(stack: RunningStack, fields: dict[str, Any], **headers: str) -> HttpResponse:
    return stack.request("POST", PATH, json.dumps(fields), {**JSON, **headers})


def assert_no_cors(response: HttpResponse) -> None:
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def assert_receipt(response: HttpResponse, status: int) -> str:
    assert response.status == status, response.body
    assert response.header("Content-Type", "").startswith("application/json")
    body = response.json()
    assert body["status"] == "received"
    assert isinstance(body["id"], str)
    assert body["id"]
    return str(body["id"])


def assert_error(response: HttpResponse, status: int) -> dict[str, Any]:
    assert response.status == status, response.body
    assert response.header("Content-Type", "").startswith("application/json")
    body: dict[str, Any] = response.json()
    assert isinstance(body["error"], str)
    assert isinstance(body["message"], str)
    assert body["message"]
    assert b"Traceback" not in response.body
    assert b"botocore" not in response.body
    return body


# 201: a new request, in each of the three content types


def test_new_json_request_is_stored_201(local_stack: RunningStack) -> None:
    response = post_json(local_stack, valid_fields(), Origin=local_stack.embed_origin)

    assert_receipt(response, 201)
    assert response.header("Access-Control-Allow-Origin") == local_stack.embed_origin


def test_new_form_urlencoded_request_is_stored_201(local_stack: RunningStack) -> None:
    fields = valid_fields(consent="on")
    response = local_stack.request(
        "POST",
        PATH,
        urlencode(fields),
        {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
    )

    assert_receipt(response, 201)


def test_new_multipart_request_is_stored_201(local_stack: RunningStack) -> None:
    body, content_type = multipart({k: str(v) for k, v in valid_fields(consent="true").items()})
    response = local_stack.request("POST", PATH, body, {"Content-Type": content_type, "Accept": "*/*"})

    assert_receipt(response, 201)


# 200: duplicates answer with the first request's id


def test_same_idempotency_key_and_content_is_a_duplicate_200_with_the_same_id(
    local_stack: RunningStack,
) -> None:
    key = f"form-{uuid.uuid4().hex}"
    fields = valid_fields()
    first = post_json(local_stack, fields, **{"Idempotency-Key": key})
    second = post_json(local_stack, fields, **{"Idempotency-Key": key})
    corrected = post_json(local_stack, {**fields, "message": "changed my mind"}, **{"Idempotency-Key": key})

    assert assert_receipt(second, 200) == assert_receipt(first, 201)
    assert assert_receipt(corrected, 201) != assert_receipt(first, 201)


def test_same_phone_name_interest_and_message_is_a_duplicate_200(local_stack: RunningStack) -> None:
    fields = valid_fields()
    first = post_json(local_stack, fields)
    second = post_json(local_stack, {**fields, "name": "  jane   DOE "})

    assert assert_receipt(second, 200) == assert_receipt(first, 201)


# Browser form posts (no JavaScript)


def test_browser_form_post_is_redirected_303_to_the_thank_you_page(local_stack: RunningStack) -> None:
    response = local_stack.request(
        "POST",
        PATH,
        urlencode(valid_fields(consent="on")),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": BROWSER_ACCEPT,
            "Origin": local_stack.api_base,
        },
    )

    assert response.status == 303
    assert response.header("Location") == f"{local_stack.api_base}/thank-you"


def test_invalid_browser_form_post_gets_a_422_html_page(local_stack: RunningStack) -> None:
    response = local_stack.request(
        "POST",
        PATH,
        urlencode({"name": "Jane", "phone": "12", "consent": "on"}),
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": BROWSER_ACCEPT,
            "Origin": local_stack.api_base,
            "Referer": f"{local_stack.api_base}/",
        },
    )

    assert response.status == 422
    assert response.header("Content-Type", "").startswith("text/html")
    page = response.body.decode()
    assert "<html" in page.lower()
    assert "phone" in page.lower()
    assert f'href="{local_stack.api_base}/"' in page


# The honeypot: the same answer as a success, nothing stored, nothing emailed


def test_filled_honeypot_gets_a_success_and_nothing_is_stored_or_emailed(local_stack: RunningStack) -> None:
    bot = valid_fields(website="https://spam.example")
    caught = post_json(local_stack, bot)
    bot_id = assert_receipt(caught, 201)
    # The stream is delivered in order: once a later real request is emailed, the bot's would have been.
    real_id = assert_receipt(post_json(local_stack, valid_fields()), 201)
    wait_for(lambda: local_stack.emails_about(real_id), 20, "the real request's email")

    assert local_stack.emails_about(bot_id) == []
    item = local_stack.aws("dynamodb").get_item(
        TableName="callback-requests", Key={"pk": {"S": f"request#{bot_id}"}}
    )
    assert "Item" not in item


# 400, 413, 415, 422: bodies the API refuses, with a JSON error


def test_malformed_json_is_400(local_stack: RunningStack) -> None:
    response = local_stack.request("POST", PATH, '{"name": "Jane", "phone": ', JSON)

    assert_error(response, 400)


def test_multipart_without_boundary_is_400(local_stack: RunningStack) -> None:
    body, _ = multipart({"name": "Jane"})
    response = local_stack.request("POST", PATH, body, {"Content-Type": "multipart/form-data"})

    assert_error(response, 400)


def test_body_larger_than_32_kib_is_413(local_stack: RunningStack) -> None:
    response = post_json(local_stack, valid_fields(message="x" * (33 * 1024)))

    assert response.status == 413


def test_text_plain_is_415(local_stack: RunningStack) -> None:
    response = local_stack.request("POST", PATH, "name=Jane", {"Content-Type": "text/plain"})

    assert_error(response, 415)


def test_invalid_fields_are_422_naming_each_field(local_stack: RunningStack) -> None:
    fields = {
        "name": "J@ne!",
        "phone": "12",
        "email": "not-an-email",
        "best_time": "midnight",
        "consent": False,
    }
    response = post_json(local_stack, fields)

    body = assert_error(response, 422)
    problems = {problem["field"]: problem["message"] for problem in body["errors"]}
    assert set(problems) == {"name", "phone", "email", "best_time", "consent"}
    assert all(message.endswith(".") and " " in message for message in problems.values())


# 403: a browser post from an origin that is not allowed


def test_post_from_a_disallowed_origin_is_403_without_cors_headers(local_stack: RunningStack) -> None:
    response = post_json(local_stack, valid_fields(), Origin="https://evil.example")

    assert response.status == 403
    assert_no_cors(response)


# CORS preflight


def test_preflight_from_an_allowed_origin_allows_post_with_its_headers(local_stack: RunningStack) -> None:
    response = local_stack.request(
        "OPTIONS",
        PATH,
        headers={
            "Origin": local_stack.embed_origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,idempotency-key",
        },
    )

    assert response.status in (200, 204)
    assert response.header("Access-Control-Allow-Origin") == local_stack.embed_origin
    assert "POST" in response.header("Access-Control-Allow-Methods", "")
    allowed_headers = response.header("Access-Control-Allow-Headers", "").lower()
    assert "content-type" in allowed_headers
    assert "idempotency-key" in allowed_headers
    assert int(response.header("Access-Control-Max-Age", "0")) > 0


def test_preflight_from_another_origin_gets_no_cors_headers(local_stack: RunningStack) -> None:
    response = local_stack.request(
        "OPTIONS",
        PATH,
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )

    assert_no_cors(response)


# 429 and 503 each need a stack of their own (a tiny burst; a deleted table)


@pytest.fixture(scope="module")
def throttled_stack(
    start_stack: Callable[..., AbstractContextManager[RunningStack]],
) -> Iterator[RunningStack]:
    with start_stack("--throttle-burst", "2", "--throttle-rate", "0.01") as stack:
        yield stack


def test_requests_beyond_the_burst_are_429(throttled_stack: RunningStack) -> None:
    statuses = [post_json(throttled_stack, valid_fields()).status for _ in range(3)]
    throttled = post_json(throttled_stack, valid_fields())

    assert statuses[:2] == [201, 201]
    assert statuses[2] == 429
    assert throttled.status == 429
    assert throttled.json() == {"message": "Too Many Requests"}


@pytest.fixture(scope="module")
def tableless_stack(
    start_stack: Callable[..., AbstractContextManager[RunningStack]],
) -> Iterator[RunningStack]:
    with start_stack() as stack:
        stack.aws("dynamodb").delete_table(TableName="callback-requests")
        yield stack


def test_storage_unavailable_is_503_with_retry_after_and_no_email(tableless_stack: RunningStack) -> None:
    response = post_json(tableless_stack, valid_fields())

    body = assert_error(response, 503)
    assert int(response.header("Retry-After", "0")) > 0
    assert "ResourceNotFound" not in json.dumps(body)
    assert tableless_stack.emails() == []
