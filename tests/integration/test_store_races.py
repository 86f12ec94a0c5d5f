"""The write path's rare answers, which moto does not produce: racing copies and refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from callbacks.adapters import aws, store
from callbacks.core.settings import get_settings
from callbacks.logic.registration import Arrival, deadline_of, dedupe_keys, stored_record
from callbacks.models.errors import StorageUnavailableError
from callbacks.models.form import CallbackRequestIn

REQUEST = CallbackRequestIn.model_validate({"name": "Jane Doe", "phone": "662-377-6290", "consent": True})


def cancelled(*codes: str, earlier_id: str | None = None) -> ClientError:
    reasons: list[dict[str, Any]] = []
    for code in codes:
        reason: dict[str, Any] = {"Code": code}
        if code == "ConditionalCheckFailed" and earlier_id:
            reason["Item"] = {"request_id": {"S": earlier_id}}
        reasons.append(reason)
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": reasons,
        },  # type: ignore[typeddict-unknown-key]
        "TransactWriteItems",
    )


def save() -> store.SaveOutcome:
    arrival = Arrival(ip_address="203.0.113.9", correlation_id="c-1", received_at=datetime.now(UTC))
    record = stored_record(
        REQUEST, arrival, deadline_of(REQUEST, arrival, get_settings()), get_settings(), id="new-id"
    )
    return store.save_new_request(
        record, dedupe_keys(REQUEST, "form-1"), now=int(arrival.received_at.timestamp())
    )


def test_given_two_copies_racing_when_the_first_try_conflicts_then_the_retry_finds_the_winner() -> None:
    answers = [
        cancelled("None", "TransactionConflict", "None"),
        cancelled("None", "ConditionalCheckFailed", "None", earlier_id="winner"),
    ]
    with (
        mock.patch.object(aws.dynamodb(), "transact_write_items", side_effect=answers) as write,
        mock.patch("callbacks.adapters.store.time.sleep"),
    ):
        outcome = save()

    assert outcome == store.SaveOutcome(request_id="winner", created=False)
    assert write.call_count == 2


def test_given_our_own_first_try_landed_then_a_retry_meeting_its_markers_is_stored_not_a_duplicate() -> None:
    # A try whose answer was lost (a read timeout) may have written; the SDK's retry then meets
    # markers that point at this very request: it is a new request, answered 201.
    answers = [cancelled("ConditionalCheckFailed", "ConditionalCheckFailed", "None", earlier_id="new-id")]
    with mock.patch.object(aws.dynamodb(), "transact_write_items", side_effect=answers):
        outcome = save()

    assert (outcome.request_id, outcome.created) == ("new-id", True)


def test_given_conflicts_that_do_not_clear_then_storage_is_unavailable() -> None:
    conflict = cancelled("None", "TransactionConflict", "None")
    with (
        mock.patch.object(aws.dynamodb(), "transact_write_items", side_effect=[conflict] * 3),
        mock.patch("callbacks.adapters.store.time.sleep"),
        pytest.raises(StorageUnavailableError),
    ):
        save()


@pytest.mark.parametrize(
    "code", ["ProvisionedThroughputExceededException", "AccessDeniedException", "InternalServerError"]
)
def test_given_dynamodb_refuses_the_write_then_storage_is_unavailable(code: str) -> None:
    error = ClientError({"Error": {"Code": code, "Message": "no"}}, "TransactWriteItems")
    with (
        mock.patch.object(aws.dynamodb(), "transact_write_items", side_effect=error),
        pytest.raises(StorageUnavailableError, match=code),
    ):
        save()


def test_given_the_idempotency_marker_and_fingerprint_both_match_then_the_keys_request_wins() -> None:
    error = cancelled("None", "ConditionalCheckFailed", "ConditionalCheckFailed", earlier_id="by-key")
    error.response["CancellationReasons"][2]["Item"] = {"request_id": {"S": "by-content"}}  # type: ignore[typeddict-item]
    with mock.patch.object(aws.dynamodb(), "transact_write_items", side_effect=error):
        assert save().request_id == "by-key"
