"""The call-back deadline through the API: answered, stored, indexed, and repeated for a duplicate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest

from callbacks.adapters import aws
from callbacks.core import deadline
from infra.provision import Provisioned
from tests.integration.helpers import VALID, counting_calls, form_event, invoke, json_event, requests_in


@pytest.fixture
def dynamodb(moto_aws: Provisioned) -> Any:
    return boto3.client("dynamodb")


def test_given_a_new_request_then_the_201_carries_its_deadline_and_sentence_and_the_record_keeps_it(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    answer = invoke(json_event({**VALID, "best_time": "evening"}))

    assert answer.status == 201
    body = answer.json()
    call_by = datetime.fromisoformat(body["call_by"])
    assert call_by.utcoffset() is not None
    assert (call_by.hour, call_by.minute) == (19, 0)
    assert body["call_by_text"] == deadline.call_by_text(call_by)
    assert body["call_by_text"].startswith("We will call you by ")
    [item] = requests_in(dynamodb, moto_aws.table_name)
    assert item["call_by"]["S"] == body["call_by"]
    # In the open-requests index until someone marks it called.
    open_items = dynamodb.query(
        TableName=moto_aws.table_name,
        IndexName="OpenRequests",
        KeyConditionExpression="follow_up = :open",
        ExpressionAttributeValues={":open": {"S": "open"}},
    )["Items"]
    assert [i["id"]["S"] for i in open_items] == [body["id"]]
    assert open_items[0]["open_call_by"]["S"].endswith("Z")


def test_given_a_duplicate_with_another_best_time_then_it_answers_the_first_requests_deadline_in_one_call(
    dynamodb: Any, moto_aws: Provisioned
) -> None:
    first = invoke(json_event({**VALID, "best_time": "morning"})).json()

    with counting_calls(aws.dynamodb()) as counter:
        again = invoke(form_event({**VALID, "best_time": "evening"}))

    assert again.status == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["call_by"] == first["call_by"]
    assert again.json()["call_by_text"] == first["call_by_text"]
    assert counter.calls == ["TransactWriteItems"]
    assert len(requests_in(dynamodb, moto_aws.table_name)) == 1


def test_given_a_duplicate_by_idempotency_key_then_the_first_deadline_too(moto_aws: Provisioned) -> None:
    first = invoke(json_event(VALID, Idempotency_Key="form-1")).json()
    again = invoke(json_event(VALID, Idempotency_Key="form-1"))

    assert (again.status, again.json()["call_by"]) == (200, first["call_by"])
