"""DynamoDB access: the only module that knows the table's shape.

One table, one string key ``pk``:

- ``request#<id>``: a call-back request (the stored record of the contract);
- ``idempotency#<sha256>`` and ``fingerprint#<sha256>``: dedupe markers that point at a request;
- ``cap#<layer>#<keyed hash>#<day or hour>``: the spam caps' counters (a phone's day, an address's hour).

A new request is stored with one ``TransactWriteItems`` call: the request, its markers, each
marker conditional on not pointing at a request made within its window, and its caps' counters,
each conditional on being under its limit. When a condition fails,
DynamoDB hands back the marker (``ReturnValuesOnConditionCheckFailure``), so a duplicate learns
the original id in that same call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from callbacks import aws
from callbacks.models.record import StoredCallbackRequest
from callbacks.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

REQUEST_PREFIX = "request#"
_CONFLICT_ATTEMPTS = 3
# A racing copy is retried only this soon after the first try: the visitor's 6 s budget holds.
_CONFLICT_RETRY_WITHIN_SECONDS = 1.0


class StorageUnavailableError(Exception):
    """The table could not be reached or refused the write; nothing was stored."""


@dataclass(frozen=True)
class DedupeKey:
    """A marker that makes a second request with the same key a duplicate within ``window_seconds``.

    ``content`` digests everything the visitor sent and ``key_hash`` names the form's idempotency
    key: a marker made under the same key for other content (a visitor who corrected the number
    after a timeout) is no duplicate, so the correction is stored, never silently dropped.
    """

    kind: Literal["idempotency", "fingerprint"]
    digest: str
    window_seconds: int
    content: str = ""
    key_hash: str | None = None


@dataclass(frozen=True)
class Cap:
    """A counter the request must fit under, kept for ``window_seconds`` (``cap#<layer>#<key>``)."""

    layer: Literal["phone_cap", "address_cap"]
    key: str
    limit: int
    window_seconds: int


@dataclass(frozen=True)
class SaveOutcome:
    request_id: str
    created: bool
    capped_by: str | None = None


def request_item(request: StoredCallbackRequest) -> dict[str, Any]:
    """The DynamoDB item of a request, in the low-level client's attribute-value form."""
    values = request.model_dump(mode="json", exclude_none=True)
    return aws.dynamodb_item({"pk": REQUEST_PREFIX + request.id, **values})


def request_from_image(image: dict[str, Any]) -> StoredCallbackRequest:
    """A stored request from a deserialized item (a stream record's ``NewImage``)."""
    return StoredCallbackRequest.model_validate({k: v for k, v in image.items() if k != "pk"})


def _cap_update(table: str, cap: Cap, now: int) -> TransactWriteItemTypeDef:
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": f"cap#{cap.layer}#{cap.key}"}},
            "UpdateExpression": "ADD hits :one SET expires_at = if_not_exists(expires_at, :expires)",
            "ConditionExpression": "attribute_not_exists(hits) OR hits < :limit",
            "ExpressionAttributeValues": {
                ":one": {"N": "1"},
                ":limit": {"N": str(cap.limit)},
                ":expires": {"N": str(now + cap.window_seconds)},
            },
        }
    }


def save_new_request(
    request: StoredCallbackRequest, dedupe_keys: list[DedupeKey], now: int, caps: list[Cap] | None = None
) -> SaveOutcome:
    """Store ``request`` unless a dedupe key points at an earlier one or a cap is full; one DynamoDB call.

    A duplicate is told first (it costs no cap); a request over a cap is ``capped_by`` that layer.
    """
    caps = caps or []
    table = get_settings().table_name
    items: list[TransactWriteItemTypeDef] = [
        {
            "Put": {
                "TableName": table,
                "Item": request_item(request),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
    ]
    for key in dedupe_keys:
        condition = "attribute_not_exists(pk) OR created_epoch < :cutoff"
        values: dict[str, Any] = {":cutoff": {"N": str(now - key.window_seconds)}}
        if key.key_hash:
            condition += " OR (key_hash = :key_hash AND content <> :content)"
            values |= {":key_hash": {"S": key.key_hash}, ":content": {"S": key.content}}
        items.append(
            {
                "Put": {
                    "TableName": table,
                    "Item": aws.dynamodb_item(
                        {
                            "pk": f"{key.kind}#{key.digest}",
                            "request_id": request.id,
                            "created_epoch": now,
                            "expires_at": now + key.window_seconds,
                            "content": key.content or None,
                            "key_hash": key.key_hash,
                        }
                    ),
                    "ConditionExpression": condition,
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            }
        )
    items.extend(_cap_update(table, cap, now) for cap in caps)
    started = time.monotonic()
    for attempt in range(1, _CONFLICT_ATTEMPTS + 1):
        try:
            aws.dynamodb().transact_write_items(TransactItems=items)
            return SaveOutcome(request_id=request.id, created=True)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise StorageUnavailableError(error.response.get("Error", {}).get("Code", "")) from error
            reasons: list[Any] = list(error.response.get("CancellationReasons", []))
            earlier = _earlier_request_id(reasons[: 1 + len(dedupe_keys)])
            if earlier == request.id:
                # Our own earlier try landed (its answer was lost, and the SDK or we retried).
                return SaveOutcome(request_id=request.id, created=True)
            if earlier:
                return SaveOutcome(request_id=earlier, created=False)
            cap_reasons = reasons[1 + len(dedupe_keys) :]
            for cap, reason in zip(caps, cap_reasons, strict=False):
                if reason.get("Code") == "ConditionalCheckFailed":
                    return SaveOutcome(request_id=request.id, created=False, capped_by=cap.layer)
            conflicted = any(reason.get("Code") == "TransactionConflict" for reason in reasons)
            late = time.monotonic() - started > _CONFLICT_RETRY_WITHIN_SECONDS
            if not conflicted or attempt == _CONFLICT_ATTEMPTS or late:
                raise StorageUnavailableError("transaction cancelled") from error
            # Two copies of one request raced (a double click): the next try sees the winner's marker.
            time.sleep(0.02 * attempt)
        except BotoCoreError as error:
            raise StorageUnavailableError(type(error).__name__) from error
    raise StorageUnavailableError("unreachable")  # pragma: no cover


def _earlier_request_id(reasons: list[Any]) -> str | None:
    # Markers follow the request in the transaction, the idempotency key's first.
    for reason in reasons[1:]:
        if reason.get("Code") == "ConditionalCheckFailed":
            request_id = reason.get("Item", {}).get("request_id", {}).get("S")
            if request_id:
                return str(request_id)
    return None


def mark_notified(request_id: str, notified_at: str, ses_message_id: str) -> bool:
    """Record the staff alert on the request; False when it was already recorded."""
    try:
        aws.dynamodb().update_item(
            TableName=get_settings().table_name,
            Key={"pk": {"S": REQUEST_PREFIX + request_id}},
            UpdateExpression="SET notified_at = :at, ses_message_id = :mid",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(notified_at)",
            ExpressionAttributeValues={":at": {"S": notified_at}, ":mid": {"S": ses_message_id}},
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False
        raise StorageUnavailableError(error.response.get("Error", {}).get("Code", "")) from error
    except BotoCoreError as error:
        raise StorageUnavailableError(type(error).__name__) from error
    return True


def is_notified(request_id: str) -> bool:
    """Whether the staff alert of a request is already recorded (a strongly consistent read)."""
    try:
        answer = aws.dynamodb().get_item(
            TableName=get_settings().table_name,
            Key={"pk": {"S": REQUEST_PREFIX + request_id}},
            ConsistentRead=True,
            ProjectionExpression="notified_at",
        )
    except (ClientError, BotoCoreError) as error:
        raise StorageUnavailableError(type(error).__name__) from error
    return "notified_at" in answer.get("Item", {})
