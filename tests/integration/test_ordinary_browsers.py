"""Ordinary browsers and ordinary visitors that the API once refused."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import boto3
import pytest

from infra.provision import Provisioned
from tests.http_contract import BROWSER_ACCEPT, form_fields
from tests.integration.helpers import (
    VALID,
    form_event,
    invoke,
    json_event,
    post_event,
    requests_in,
)

pytestmark = pytest.mark.usefixtures("moto_aws")

CHINESE = "我想了解激光换肤的恢复时间和费用，请在上午给我打电话。谢谢！" * 40


def test_given_origin_null_from_a_no_referrer_page_then_the_form_post_is_stored_and_redirected(
    moto_aws: Provisioned,
) -> None:
    answer = invoke(form_event(VALID, accept=BROWSER_ACCEPT, origin="null"))

    assert answer.status == 303
    assert len(requests_in(boto3.client("dynamodb"), moto_aws.table_name)) == 1


def test_given_a_1000_character_chinese_message_urlencoded_then_it_fits_and_is_stored() -> None:
    message = CHINESE[:1000]
    event = form_event({**VALID, "message": message})

    assert len(event["body"].encode()) > 9 * 1024  # what was refused before: over the old 8 KiB
    answer = invoke(event)

    assert answer.status == 201


@pytest.mark.parametrize(
    "content_type", ["Application/JSON", "APPLICATION/JSON; charset=UTF-8", "application/Json"]
)
def test_given_a_json_media_type_in_any_case_then_it_is_json(content_type: str) -> None:
    answer = invoke(post_event(json.dumps(VALID), content_type))

    assert answer.status == 201


def test_given_a_form_media_type_in_any_case_then_it_is_a_form() -> None:
    body = urlencode(form_fields(VALID))

    answer = invoke(post_event(body, "Application/X-WWW-Form-Urlencoded"))

    assert answer.status == 201


@pytest.mark.parametrize(
    ("event_kwargs", "body", "content_type", "status"),
    [
        ({"origin": "https://evil.example"}, json.dumps(VALID), "application/json", 403),
        ({}, json.dumps({**VALID, "message": "x" * 33000}), "application/json", 413),
        ({}, "name=Jane", "text/plain", 415),
        ({}, "\x00\x01", "multipart/form-data", 400),
    ],
    ids=["foreign-origin", "too-large", "unsupported-type", "malformed"],
)
def test_given_a_browsers_own_form_post_refused_then_it_gets_a_page_with_the_office_number_never_json(
    event_kwargs: dict[str, str], body: str, content_type: str, status: int
) -> None:
    answer = invoke(post_event(body, content_type, accept=BROWSER_ACCEPT, **event_kwargs))

    assert answer.status == status
    assert answer.headers["content-type"].startswith("text/html")
    assert "<h1>" in answer.text
    assert 'href="tel:+16623776290"' in answer.text
    assert '"error"' not in answer.text


def test_given_a_script_refused_then_it_still_gets_json() -> None:
    answer = invoke(json_event(VALID, origin="https://evil.example"))

    assert answer.status == 403
    assert answer.json()["error"] == "origin_not_allowed"
