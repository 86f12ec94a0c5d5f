"""The items the table holds, converted as boto3 converts them: ``adapters/aws.py`` writes and reads
DynamoDB's attribute-value form itself (boto3's converters would import boto3 at every cold start),
and these tests hold it to boto3's own ``TypeSerializer`` and ``TypeDeserializer``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from callbacks.adapters import aws, store
from callbacks.models.record import ConsentRecord, StoredCallbackRequest

# What the table's items are made of: text, whole numbers, booleans, and maps and lists of them.
values = st.recursive(
    st.none() | st.booleans() | st.text() | st.integers(min_value=-(10**37), max_value=10**37),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(values)
def test_any_value_the_table_holds_is_written_as_boto3_writes_it(value: Any) -> None:
    assert aws.attribute_value(value) == TypeSerializer().serialize(value)


@given(values)
def test_any_value_read_back_is_what_boto3_reads(value: Any) -> None:
    written = TypeSerializer().serialize(value)

    assert aws.python_value(written) == TypeDeserializer().deserialize(written)


@pytest.mark.parametrize(
    "refused", [1.5, Decimal("1.5"), b"bytes", {1, 2}, datetime(2026, 12, 7, tzinfo=UTC)]
)
def test_a_value_boto3_would_refuse_or_that_the_table_never_holds_is_refused(refused: object) -> None:
    with pytest.raises(TypeError):
        aws.attribute_value(refused)


def test_string_and_number_sets_are_read_as_boto3_reads_them() -> None:
    for written in ({"SS": ["a", "b"]}, {"NS": ["1", "2.5"]}):
        assert aws.python_value(written) == TypeDeserializer().deserialize(written)


def test_a_stored_request_item_is_the_item_boto3_would_write_and_reads_back_the_same() -> None:
    request = StoredCallbackRequest(
        id="7c0e5a52-6f0b-4a39-9d4e-2f7c1d1e9a10",
        created_at="2026-12-07T15:04:05.123Z",
        name="Jane Doe",
        phone="+16623776290",
        email="jane@example.com",
        best_time="morning",
        interest="fractional-co2-laser",
        message="Downtime?",
        consent=ConsentRecord(agreed_at="2026-12-07T15:04:05.123Z", ip_address="203.0.113.1"),
        expires_at=1_828_000_000,
        call_by=datetime(2026, 12, 8, 12, tzinfo=UTC),
        week="2026-12-07",
    )

    item = store.request_item(request)
    plain = {key: TypeDeserializer().deserialize(value) for key, value in item.items()}

    assert item == {key: TypeSerializer().serialize(value) for key, value in plain.items()}
    assert aws.plain_item(item) == plain
    assert plain["expires_at"] == Decimal(1_828_000_000)
