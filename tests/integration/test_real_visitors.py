"""Issue 16 through the intake handler against moto: real Tupelo visitors are stored as they are.

Tupelo's new 471 numbers, US territories, names with a comma or an ampersand, no treatment chosen,
an extension kept, a honeypot catch kept briefly, a page address stripped of its query.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from callbacks.adapters.store import request_from_image
from callbacks.core.settings import get_settings
from callbacks.emails.staff_alert import subject_line
from callbacks.handlers.api.callback_requests import thank_you_location
from infra.local.filters import compile_pattern, matches_any
from infra.provision import Provisioned, resource
from tests.http_contract import BROWSER_ACCEPT
from tests.integration.helpers import (
    ALLOWED_ORIGIN,
    VALID,
    form_event,
    invoke,
    json_event,
    metric_blobs,
    requests_in,
    scan_table,
)

pytestmark = pytest.mark.usefixtures("moto_aws")


@pytest.fixture
def dynamodb() -> Any:
    return boto3.client("dynamodb")


def metrics_named(output: str, name: str) -> list[dict[str, Any]]:
    return [blob for blob in metric_blobs(output) if name in blob]


# --- phone numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("(471) 201-2345", "+14712012345"),
        ("(787) 722-1234", "+17877221234"),
        ("340 776 1234", "+13407761234"),
        ("(671) 472-1234", "+16714721234"),
    ],
    ids=["tupelo-471", "puerto-rico", "us-virgin-islands", "guam"],
)
def test_given_a_tupelo_471_or_territory_number_when_posted_then_201_and_stored(
    typed: str, e164: str, dynamodb: Any, moto_aws: Provisioned
) -> None:
    answer = invoke(form_event({**VALID, "phone": typed}))

    assert answer.status == 201, answer.text
    assert [item["phone"]["S"] for item in requests_in(dynamodb, moto_aws.table_name)] == [e164]


def test_given_a_471_number_then_its_area_code_is_counted_as_unknown_and_nothing_personal(
    output: Callable[[], str],
) -> None:
    # Given a number in the area code newer than the phone library's data
    invoke(json_event({**VALID, "phone": "(471) 840-5512"}))

    # Then one PhoneAreaCodeUnknown, in the one series, and the code in the log line only
    printed = output()
    counted = metrics_named(printed, "PhoneAreaCodeUnknown")
    assert len(counted) == 1
    assert counted[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert "area_code" not in counted[0]
    lines = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    logged = [line for line in lines if line.get("message") == "phone_area_code_unknown"]
    assert [line["area_code"] for line in logged] == ["471"]
    assert "840" not in json.dumps(counted[0])
    assert "5512" not in printed


def test_given_a_bot_cycling_unknown_area_codes_then_they_all_count_in_one_series(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 157 area codes pass the heuristic: each must not become a billed series of its own.
    for area_code in ("471", "483", "627", "736"):
        invoke(json_event({**VALID, "phone": f"({area_code}) 840-5512"}))

    counted = metrics_named(capsys.readouterr().out, "PhoneAreaCodeUnknown")
    assert len(counted) == 4
    assert {json.dumps(blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"]) for blob in counted} == {
        '[["service"]]'
    }
    assert {blob["service"] for blob in counted} == {"callback-requests"}


def test_given_a_number_the_library_knows_then_no_unknown_area_code_is_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invoke(json_event(VALID))

    assert metrics_named(capsys.readouterr().out, "PhoneAreaCodeUnknown") == []


@pytest.mark.parametrize("typed", ["900-555-1234", "+44 871 234 5678"])
def test_given_a_premium_rate_number_then_422_saying_why(typed: str) -> None:
    answer = invoke(json_event({**VALID, "phone": typed}))

    assert answer.status == 422
    assert answer.json()["errors"] == [
        {
            "field": "phone",
            "message": "Please enter a number we can call at the normal rate: we cannot call "
            "premium-rate or shared-cost numbers.",
        }
    ]


def test_given_an_extension_then_it_is_stored_beside_the_number(dynamodb: Any, moto_aws: Provisioned) -> None:
    answer = invoke(form_event({**VALID, "phone": "(662) 377-6290 ext. 12"}))

    assert answer.status == 201
    item = requests_in(dynamodb, moto_aws.table_name)[0]
    assert item["phone"]["S"] == "+16623776290"
    assert item["phone_extension"]["S"] == "12"


@pytest.mark.parametrize("key", [None, "form-7f3a"], ids=["no-key", "same-key"])
def test_given_the_same_number_with_another_extension_then_a_new_request_not_a_duplicate(
    key: str | None,
) -> None:
    # A visitor who corrected the extension after a timeout: the correction is stored, not dropped.
    extra = {"idempotency_key": key} if key else {}
    first = invoke(json_event({**VALID, "phone": "662-377-6290 x12", **extra}))
    second = invoke(json_event({**VALID, "phone": "662-377-6290 x14", **extra}))

    assert (first.status, second.status) == (201, 201)
    assert first.json()["id"] != second.json()["id"]


# --- names --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Doe, Jane", "John & Mary Smith"])
def test_given_a_name_with_a_comma_or_an_ampersand_then_201_and_stored_as_typed(
    name: str, dynamodb: Any, moto_aws: Provisioned
) -> None:
    assert invoke(form_event({**VALID, "name": name})).status == 201
    assert requests_in(dynamodb, moto_aws.table_name)[0]["name"]["S"] == name


@pytest.mark.parametrize("name", [".", "-", "'"])
def test_given_punctuation_alone_as_a_name_then_422_and_nothing_stored(
    name: str, dynamodb: Any, moto_aws: Provisioned
) -> None:
    answer = invoke(json_event({**VALID, "name": name}))

    assert answer.status == 422
    assert [problem["field"] for problem in answer.json()["errors"]] == ["name"]
    assert requests_in(dynamodb, moto_aws.table_name) == []


# --- interest -----------------------------------------------------------------------------------


@pytest.mark.parametrize("interest", [None, ""], ids=["left-out", "empty"])
def test_given_no_interest_when_posted_then_the_record_holds_none(
    interest: str | None, dynamodb: Any, moto_aws: Provisioned
) -> None:
    fields = {key: value for key, value in VALID.items() if key != "interest"}
    if interest is not None:
        fields["interest"] = interest

    assert invoke(form_event(fields)).status == 201
    assert "interest" not in requests_in(dynamodb, moto_aws.table_name)[0]


def test_given_not_sure_yet_then_it_is_stored_as_not_sure(dynamodb: Any, moto_aws: Provisioned) -> None:
    assert invoke(form_event({**VALID, "interest": "not-sure"})).status == 201
    assert requests_in(dynamodb, moto_aws.table_name)[0]["interest"]["S"] == "not-sure"


# --- a plain form post without JavaScript, from the practice's own site --------------------------


def test_given_a_cross_origin_plain_post_with_its_path_then_the_422_page_links_back_to_the_form_page() -> (
    None
):
    # Given the form on the practice's page, posted without JavaScript: the browser's Referer holds
    # only the origin, the form carries the page's path
    event = form_event(
        {**VALID, "phone": "12", "form_page": "/fractional-co2-laser/"},
        accept=BROWSER_ACCEPT,
        Referer=f"{ALLOWED_ORIGIN}/",
    )

    # When the API refuses a field
    answer = invoke(event)

    # Then its page links back to the form's own page, not to the site's home page
    assert answer.status == 422
    assert f'<a href="{ALLOWED_ORIGIN}/fractional-co2-laser/">Go back to the form</a>' in answer.text


def test_given_a_cross_origin_plain_post_without_its_path_then_the_back_button_not_the_home_page() -> None:
    answer = invoke(form_event({**VALID, "phone": "12"}, accept=BROWSER_ACCEPT, Referer=f"{ALLOWED_ORIGIN}/"))

    assert answer.status == 422
    assert "Go back to the form" not in answer.text
    assert "Use your browser's Back button to return to the form." in answer.text


def test_given_a_form_page_with_a_foreign_origin_then_no_link_leads_off_the_practices_sites() -> None:
    answer = invoke(
        form_event(
            {**VALID, "phone": "12", "form_page": "/laser/"},
            accept=BROWSER_ACCEPT,
            origin=None,
            Referer="https://evil.example/laser/",
        )
    )

    assert answer.status == 422
    assert "evil.example" not in answer.text
    assert "Back button" in answer.text


def test_given_a_broken_form_page_then_the_request_is_still_stored() -> None:
    # The visitor cannot see or fix a hidden field: it never refuses a request.
    assert invoke(form_event({**VALID, "form_page": "javascript:alert(1)"})).status == 201


# --- the reference ------------------------------------------------------------------------------


def test_given_a_new_request_then_201_carries_the_staff_emails_reference_and_a_repeat_the_same(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    first = invoke(json_event(VALID))
    again = invoke(json_event(VALID))

    assert (first.status, again.status) == (201, 200)
    body = first.json()
    assert set(body) >= {"id", "reference", "status"}
    assert again.json() == body
    # The very reference of the office's email subject
    (item,) = requests_in(dynamodb, moto_aws.table_name)
    record = request_from_image({key: TypeDeserializer().deserialize(value) for key, value in item.items()})
    assert subject_line(record, "America/Chicago").startswith(f"Call-back request {body['reference']} - ")


@pytest.mark.parametrize(
    ("thank_you_url", "location"),
    [
        ("https://www.accentplasticsurgery.example/thank-you", "/thank-you?ref=3F2A9C1E"),
        ("https://www.accentplasticsurgery.example/thanks?lang=en", "/thanks?lang=en&ref=3F2A9C1E"),
    ],
)
def test_given_a_thank_you_url_then_the_reference_is_added_to_its_query(
    thank_you_url: str, location: str
) -> None:

    assert (
        thank_you_location(thank_you_url, "3F2A9C1E") == "https://www.accentplasticsurgery.example" + location
    )


# --- honeypot catches ---------------------------------------------------------------------------


def spam_in(client: Any, table: str) -> list[dict[str, Any]]:
    return [item for item in scan_table(client, table) if item["pk"]["S"].startswith("spam#")]


def test_given_a_person_whose_autofill_filled_the_honeypot_then_the_catch_is_kept_a_week_as_spam(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    # Given a real person's request with the hidden field filled (an autofill tool, say)
    answer = invoke(form_event({**VALID, "phone": "(471) 201-2345", "website": "Jane Doe"}))

    # Then the answer is a success, and the catch is kept under spam#, flagged, for 7 days
    assert answer.status == 201
    (item,) = spam_in(dynamodb, moto_aws.table_name)
    assert item["pk"]["S"] == f"spam#{answer.json()['id']}"
    assert item["caught_by"]["S"] == "honeypot"
    assert item["phone"]["S"] == "+14712012345"
    assert item["name"]["S"] == "Jane Doe"
    created = datetime.fromisoformat(item["created_at"]["S"].replace("Z", "+00:00")).timestamp()
    assert int(item["expires_at"]["N"]) == int(created) + 7 * 86400
    # And no request, no dedupe marker: it is never emailed and never blocks a real request; it
    # counts against its address's hourly cap (a flood of catches is not kept)
    kinds = sorted(i["pk"]["S"].split("#")[0] for i in scan_table(dynamodb, moto_aws.table_name))
    assert kinds == ["cap", "spam"]


def test_given_a_kept_catch_then_the_stream_filter_passes_it_over_so_it_is_never_emailed(
    moto_aws: Provisioned,
) -> None:
    # Given a honeypot catch and a real request in the table
    invoke(form_event({**VALID, "website": "x"}))
    real = invoke(json_event({**VALID, "phone": "662-555-0142"}))

    # Then the template's own stream filter lets through only the real request's INSERT
    streams = boto3.client("dynamodbstreams")
    shards = streams.describe_stream(StreamArn=moto_aws.stream_arn)["StreamDescription"]["Shards"]
    records = []
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=moto_aws.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    (pattern,) = resource("NotifyFunction")["Properties"]["Events"]["NewCallbackRequest"]["Properties"][
        "FilterCriteria"
    ]["Filters"]
    passed = [r for r in records if matches_any([compile_pattern(pattern["Pattern"])], r)]
    assert len([r for r in records if r["dynamodb"]["Keys"]["pk"]["S"].startswith("spam#")]) == 1
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in passed] == [f"request#{real.json()['id']}"]


def test_given_a_flood_of_catches_from_one_address_then_only_the_hours_cap_is_kept(
    dynamodb: Any, moto_aws: Provisioned, environment: dict[str, str]
) -> None:
    # Given more honeypot catches from one address in an hour than its cap
    cap = get_settings().address_hourly_cap
    answers = [
        invoke(form_event({**VALID, "phone": f"(662) 840-{n:04d}", "website": "x"})) for n in range(cap + 3)
    ]

    # Then every answer is a success, and no more than the cap are kept
    assert {answer.status for answer in answers} == {201}
    assert len(spam_in(dynamodb, moto_aws.table_name)) == cap


def test_given_a_bots_garbage_in_the_honeypot_then_a_quiet_success_and_nothing_kept(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    answer = invoke(json_event({"website": "x", "phone": "nonsense"}))

    assert answer.status == 201
    assert scan_table(dynamodb, moto_aws.table_name) == []


def test_given_a_honeypot_catch_then_it_is_counted_without_personal_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invoke(form_event({**VALID, "website": "x"}))

    output = capsys.readouterr().out
    assert len(metrics_named(output, "SpamCaught")) == 1
    assert "Jane" not in output
    assert "377-6290" not in output
    assert "6623776290" not in output


# --- the page address: origin and path only -----------------------------------------------------


def test_given_a_page_address_with_ad_click_ids_then_record_and_consent_keep_only_origin_and_path(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    page = "https://www.accentplasticsurgery.example/fractional-co2-laser/"
    typed = f"{page}?gclid=EAIaIQobChMI&utm_source=facebook&fbclid=IwAR0&email=jane%40example.com#form"

    assert invoke(form_event({**VALID, "source_url": typed})).status == 201

    (item,) = requests_in(dynamodb, moto_aws.table_name)
    assert item["source_url"]["S"] == page
    assert item["consent"]["M"]["source_url"]["S"] == page
    assert "gclid" not in json.dumps(item)
    assert "jane%40example.com" not in json.dumps(item)
