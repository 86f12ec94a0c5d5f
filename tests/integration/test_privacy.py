"""A visitor's data on request (issue 16): find by phone or email through the indexes, export, forget.

The privacy tool (infra/tools/privacy.py) against the table built from template.yaml in moto,
filled by the real intake handler.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.provision import Provisioned
from infra.tools import privacy
from tests.integration.helpers import VALID, counting_calls, form_event, invoke, json_event, scan_table

pytestmark = pytest.mark.usefixtures("moto_aws")

JANE = {**VALID, "name": "Jane Doe", "phone": "(662) 377-6290", "email": "Jane.Doe@Example.com"}


@pytest.fixture
def target(moto_aws: Provisioned) -> privacy.Target:
    return privacy.Target(boto3.client("dynamodb"), moto_aws.table_name, "moto")


def post(fields: dict[str, Any]) -> str:
    # As the form's script sends it: with an idempotency key, so both kinds of marker are made.
    answer = invoke(json_event({**fields, "idempotency_key": uuid.uuid4().hex}))
    assert answer.status == 201, answer.body
    return str(answer.json()["id"])


def keys(target: privacy.Target) -> set[str]:
    return {item["pk"]["S"] for item in scan_table(target.client, target.table)}


@pytest.mark.parametrize("typed", ["(662) 377-6290", "662.377.6290", "+1 662 377 6290", "16623776290"])
def test_given_any_notation_of_the_number_then_export_finds_that_visitors_requests_only(
    typed: str, target: privacy.Target
) -> None:
    # Given two requests and a honeypot catch from Jane, and one from someone else
    first = post(JANE)
    second = post({**JANE, "message": "Also about scars.", "phone": "662-377-6290"})
    caught = invoke(form_event({**JANE, "message": "autofilled", "website": "Jane"})).json()["id"]
    post({**VALID, "name": "Ana", "phone": "(662) 840-1234", "email": "ana@example.com"})

    # When exported by the number in any notation (normalised as the intake does)
    document = privacy.export_document(privacy.find(target, phone=typed), "phone")

    # Then it holds exactly Jane's requests, each with its reference, and the catch, flagged
    assert [r["id"] for r in document["requests"]] == [first, second]
    assert [r["reference"] for r in document["requests"]] == [
        first.replace("-", "")[:8].upper(),
        second.replace("-", "")[:8].upper(),
    ]
    assert document["requests"][0]["consent"]["text"].startswith("I agree that")
    assert [c["id"] for c in document["honeypot_catches"]] == [caught]
    assert document["honeypot_catches"][0]["caught_by"] == "honeypot"
    assert "Ana" not in json.dumps(document)


def test_given_an_email_in_another_case_then_export_finds_the_requests(target: privacy.Target) -> None:
    first = post(JANE)

    found = privacy.find(target, email="  jane.doe@EXAMPLE.COM ")

    assert [item["id"] for item in found] == [first]


def test_given_a_lookup_then_it_reads_an_index_and_never_scans(target: privacy.Target) -> None:
    post(JANE)

    with counting_calls(target.client) as counter:
        privacy.find(target, phone="662-377-6290")

    assert counter.calls == ["Query", "BatchGetItem"]


@pytest.mark.parametrize(
    ("phone", "email"), [("555-1234", None), (None, "not-an-address"), (None, None), ("6623776290", "a@b.co")]
)
def test_given_no_or_an_invalid_phone_or_email_then_a_clear_error_not_a_crash(
    phone: str | None, email: str | None, target: privacy.Target
) -> None:
    with pytest.raises(privacy.PrivacyToolError):
        privacy.find(target, phone=phone, email=email)


def test_given_forget_when_the_operator_does_not_say_yes_then_nothing_is_erased(
    target: privacy.Target,
) -> None:
    post(JANE)
    before = keys(target)
    said: list[str] = []

    erased = privacy.forget(
        target, privacy.find(target, phone="6623776290"), yes=False, ask=lambda _: "n", say=said.append
    )

    assert erased == []
    assert keys(target) == before
    assert "Nothing erased." in said


def test_given_forget_confirmed_then_the_visitors_items_and_markers_go_and_the_mailbox_purge_is_listed(
    target: privacy.Target,
) -> None:
    # Given Jane's request, her honeypot catch, and Ana's request
    jane = post(JANE)
    caught = invoke(form_event({**JANE, "message": "autofilled", "website": "Jane"})).json()["id"]
    ana = post({**VALID, "name": "Ana", "phone": "(662) 840-1234", "email": "ana@example.com"})
    asked: list[str] = []
    said: list[str] = []

    # When the operator confirms
    erased = privacy.forget(
        target,
        privacy.find(target, email="jane.doe@example.com"),
        yes=False,
        ask=lambda question: asked.append(question) or "yes",
        say=said.append,
    )

    # Then Jane's items are gone, with her duplicate marker; Ana's remain
    assert set(erased) == {jane, caught}
    assert len(asked) == 1
    remaining = keys(target)
    assert f"request#{jane}" not in remaining
    assert f"spam#{caught}" not in remaining
    assert f"request#{ana}" in remaining
    assert len([key for key in remaining if key.startswith("fingerprint#")]) == 1  # Ana's
    assert len([key for key in remaining if key.startswith("idempotency#")]) == 1  # Ana's
    assert privacy.find(target, phone="662-377-6290") == []
    # And the output names what to purge from the mailboxes, and what still holds a copy
    text = "\n".join(said)
    assert f"Call-back request {jane.replace('-', '')[:8].upper()}" in text
    assert "point-in-time recovery" in text
    assert "35 days" in text


def test_given_the_same_content_after_forget_then_a_new_request_not_a_duplicate_of_the_erased_one(
    target: privacy.Target,
) -> None:
    first = post(JANE)
    privacy.forget(target, privacy.find(target, phone="6623776290"), yes=True, say=lambda _: None)

    again = invoke(json_event(JANE))

    assert again.status == 201
    assert again.json()["id"] != first


def test_given_honeypot_catches_then_spam_lists_the_recent_ones_through_its_index(
    target: privacy.Target,
) -> None:
    caught = invoke(form_event({**JANE, "website": "Jane"})).json()["id"]
    post({**VALID, "phone": "(662) 840-1234"})

    with counting_calls(target.client) as counter:
        found = privacy.recent_spam(target)

    assert [item["id"] for item in found] == [caught]
    assert found[0]["phone"] == "+16623776290"
    assert counter.calls == ["Query", "BatchGetItem"]


def test_given_a_stack_name_then_the_table_comes_from_its_outputs() -> None:
    session = boto3.session.Session(region_name="us-east-1")
    cloudformation = session.client("cloudformation")
    stubber = Stubber(cloudformation)
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "callbacks-prod",
                    "CreationTime": "2026-11-01T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": "TableName", "OutputValue": "callbacks-prod-Table-1AB"}],
                }
            ]
        },
        {"StackName": "callbacks-prod"},
    )

    class Session:
        def client(self, name: str) -> Any:
            return cloudformation if name == "cloudformation" else session.client(name)

    with stubber:
        target = privacy.stack_target("callbacks-prod", Session())

    assert target.table == "callbacks-prod-Table-1AB"
    assert target.where == "stack callbacks-prod"


def test_given_the_command_line_then_export_prints_json_and_errors_exit_2(
    target: privacy.Target, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = post(JANE)
    monkeypatch.setattr(privacy, "local_target", lambda endpoint, table: target)
    printed: list[str] = []

    assert privacy.main(["export", "--phone", "(662) 377-6290"], out=printed.append) == 0
    assert [r["id"] for r in json.loads(printed[0])["requests"]] == [first]
    assert privacy.main(["export", "--phone", "555-1234"], out=printed.append) == 2
    assert "error: Please enter a 10-digit US phone number" in capsys.readouterr().err
