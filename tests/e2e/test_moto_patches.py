"""Each fix of infra/local/moto_patches.py is still needed with moto 5.2.5, and does its job.

Every case runs twice on in-process moto: with the fixes, where it must go as in real DynamoDB,
and on moto alone, where it must still go wrong. When a moto upgrade makes a "moto alone" case
fail, moto does that job now: remove the fix (and the case) it names.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodbstreams.models import dynamodbstreams_backends

from infra.local.lambda_events import ACCOUNT_ID, REGION
from infra.local.moto_patches import patch_moto
from infra.provision import Provisioned


@pytest.fixture(params=[True, False], ids=["fixed", "moto alone"])
def fixed(request: pytest.FixtureRequest) -> Iterator[bool]:
    if request.param:
        with patch_moto():
            yield True
    else:
        yield False


def put(table: str, key: str) -> None:
    boto3.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": key}})


def stream_iterator(moto_aws: Provisioned) -> str:
    streams = boto3.client("dynamodbstreams")
    (shard,) = streams.describe_stream(StreamArn=moto_aws.stream_arn)["StreamDescription"]["Shards"]
    return str(
        streams.get_shard_iterator(
            StreamArn=moto_aws.stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    )


def keys_read(iterator: str) -> list[str]:
    records = boto3.client("dynamodbstreams").get_records(ShardIterator=iterator)["Records"]
    return [record["dynamodb"]["Keys"]["pk"]["S"] for record in records]


def cancelled_transaction(table: str) -> None:
    """Writes request#X, then fails on request#A, which exists: DynamoDB cancels both."""
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        boto3.client("dynamodb").transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"pk": {"S": "request#X"}}}},
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "request#A"}},
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
            ]
        )


def test_a_cancelled_transaction_keeps_the_stream_its_readers_hold_without_its_writes(
    moto_aws: Provisioned, fixed: bool
) -> None:
    iterator = stream_iterator(moto_aws)
    put(moto_aws.table_name, "request#A")

    cancelled_transaction(moto_aws.table_name)
    put(moto_aws.table_name, "request#C")

    if fixed:
        assert keys_read(iterator) == ["request#A", "request#C"]
    else:  # moto alone: the cancelled write is in the stream, and nothing after it ever is
        assert keys_read(iterator) == ["request#A", "request#X"]


def test_while_a_transaction_is_cancelled_a_write_is_kept_and_its_writes_are_never_read(
    moto_aws: Provisioned, fixed: bool
) -> None:
    table = moto_aws.table_name
    iterator = stream_iterator(moto_aws)
    put(table, "request#A")
    read: list[str] = []
    others = [
        threading.Thread(target=put, args=(table, "request#B")),
        threading.Thread(target=lambda: read.extend(keys_read(iterator))),
    ]
    get_item = DynamoDBBackend.get_item
    calls = []

    def meanwhile(backend: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        if len(calls) == 2:  # inside the transaction, with request#X written and request#A next
            for thread in others:
                thread.start()
            for thread in others:
                # Fixed, they wait for the transaction to end; on moto alone they are done at once.
                thread.join(timeout=0.5 if fixed else None)
        return get_item(backend, *args, **kwargs)

    with mock.patch.object(DynamoDBBackend, "get_item", meanwhile):
        cancelled_transaction(table)
    for thread in others:
        thread.join()

    kept = "Item" in boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "request#B"}})
    # Fixed, request#B is kept and the reader never sees request#X; on moto alone the rollback
    # loses request#B, and the reader saw request#X before it was rolled back.
    assert (kept, "request#X" in read) == ((True, False) if fixed else (False, True))


def test_a_used_shard_iterator_is_forgotten(moto_aws: Provisioned, fixed: bool) -> None:
    streams = boto3.client("dynamodbstreams")
    iterator = stream_iterator(moto_aws)

    for _ in range(5):
        iterator = streams.get_records(ShardIterator=iterator)["NextShardIterator"]

    held = dynamodbstreams_backends[ACCOUNT_ID][REGION].shard_iterators
    assert len(held) == (1 if fixed else 6)  # moto alone: every iterator it ever issued


# A workaround moto 5.2.5 no longer needs: infra/provision.py verified every address through SES v1,
# because moto once checked SES v2 sends against v1's identities only. It now keeps one set for both,
# so provisioning creates them as the template's AWS::SES::EmailIdentity does, through SES v2.


def test_moto_accepts_an_ses_v2_send_from_an_identity_created_through_ses_v2(moto_aws: Provisioned) -> None:
    sesv2 = boto3.client("sesv2")
    sesv2.create_email_identity(EmailIdentity="front-desk@example.org")
    content = {"Simple": {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}}

    sent = sesv2.send_email(
        FromEmailAddress="front-desk@example.org",
        Destination={"ToAddresses": ["office@example.org"]},
        Content=content,
    )
    assert sent["MessageId"]
    with pytest.raises(ClientError, match="not verified"):
        sesv2.send_email(
            FromEmailAddress="stranger@example.net",
            Destination={"ToAddresses": ["office@example.org"]},
            Content=content,
        )
