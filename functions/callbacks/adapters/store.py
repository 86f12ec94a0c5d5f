"""DynamoDB access: the only module that knows the table's shape.

One table, one string key ``pk``:

- ``request#<id>``: a call-back request (the stored record of the contract);
- ``idempotency#<sha256>`` and ``fingerprint#<sha256>``: dedupe markers that point at a request
  (and carry its ``call_by``, so a duplicate answers the first request's deadline from the marker);
- ``spam#<id>``: a submission the honeypot caught, the same shape plus ``caught_by``, kept 7 days;
- ``cap#<layer>#<keyed hash>#<day or hour>``: the spam caps' counters (a phone's day, an address's hour).

The sparse index ``OpenRequests`` holds the requests nobody has marked called yet: a new request
carries ``follow_up = "open"`` and ``open_call_by`` (its deadline in UTC, so it sorts), and marking
it called removes both. The digest queries it for deadlines before now; it never scans.
Sparse indexes, keys only: ``by-phone`` (``phone``) and ``by-email`` (``email_key``) hold the
requests and catches of one visitor; ``spam-by-time`` (``caught_by``) the catches.
A request carries ``alert_pending`` from its insert until its staff alert is recorded: the key of
the sparse index ``alert-pending`` (sorted by ``created_at``), through which the sweep finds the
requests never emailed without a scan. While an alert is being sent, the request holds a claim
(``alert_claimed_at``, ``alert_claim_token``); recording the alert removes all three.
Every request carries ``week``, the Monday (office time) of the week it arrived in: the key of the
index ``by-week`` (sorted by ``created_at``), which the weekly summary queries one week at a time.

A new request is stored with one ``TransactWriteItems`` call: the request, its markers, each
marker conditional on not pointing at a request made within its window, and its caps' counters,
each conditional on being under its limit. When a condition fails,
DynamoDB hands back the marker (``ReturnValuesOnConditionCheckFailure``), so a duplicate learns
the original id in that same call.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from callbacks.adapters import aws
from callbacks.core.settings import get_settings
from callbacks.models.choices import BestTime
from callbacks.models.errors import StorageUnavailableError
from callbacks.models.record import (
    Cap,
    DedupeKey,
    OpenRequest,
    StoredCallbackRequest,
    deadline_text,
    parse_timestamp,
    utc_timestamp,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import PutTypeDef, TransactWriteItemTypeDef

    from callbacks.models.week import WeekRequest

REQUEST_PREFIX = "request#"
OPEN_REQUESTS_INDEX = "OpenRequests"
OPEN = "open"
# A honeypot catch: the stream's filter, the notifier and every request index pass over it.
SPAM_PREFIX = "spam#"
_CONFLICT_ATTEMPTS = 3
# A racing copy is retried only this soon after the first try: the visitor's 6 s budget holds.
_CONFLICT_RETRY_WITHIN_SECONDS = 1.0
ALERT_PENDING_INDEX = "alert-pending"
# The one value of the index's key: every un-notified request is in one partition, oldest first.
ALERT_PENDING = "pending"
BY_WEEK_INDEX = "by-week"


class SaveOutcome(NamedTuple):
    request_id: str
    created: bool
    # The stored request's deadline; for a duplicate, the first request's (None: a marker older
    # than deadlines).
    call_by: datetime | None = None
    capped_by: str | None = None


def table_name() -> str:
    """The table's name: the one place this module reads a setting."""
    return get_settings().table_name


def utc_sort_key(moment: datetime) -> str:
    """A deadline as the index sorts it: UTC, ``Z``-suffixed (offsets would not sort across DST)."""
    return utc_timestamp(moment)


def _optional_moment(value: Any) -> datetime | None:
    return parse_timestamp(str(value)) if value else None


def email_key(email: str) -> str:
    """How the ``by-email`` index finds an address: in lower case, as people retype it."""
    return email.lower()


def request_item(request: StoredCallbackRequest, prefix: str = REQUEST_PREFIX) -> dict[str, Any]:
    """The DynamoDB item of a request, in the low-level client's attribute-value form.

    ``phone`` and ``email_key`` put it in the ``by-phone`` and ``by-email`` indexes (export, forget);
    an open request (never a spam catch) is in ``OpenRequests`` until it is marked called, and in
    ``alert-pending`` until its staff alert is recorded; every request is in ``by-week``.
    """
    values: dict[str, Any] = request.model_dump(mode="json", exclude_none=True)
    if request.email:
        values["email_key"] = email_key(request.email)
    if prefix == REQUEST_PREFIX:
        if request.status == "new" and request.call_by:
            values |= {"follow_up": OPEN, "open_call_by": utc_sort_key(request.call_by)}
        if request.notified_at is None:
            values["alert_pending"] = ALERT_PENDING  # the sweep's index, until the alert is recorded
    return aws.dynamodb_item({"pk": prefix + request.id, **values})


def save_spam(request: StoredCallbackRequest, caps: list[Cap], now: int) -> bool:
    """Keep a honeypot catch (``spam#<id>``, expiring with ``expires_at``) unless a cap is full.

    One call: a PutItem, or with caps a ``TransactWriteItems`` of the item and its counters.
    True when it was kept.
    """
    table = table_name()
    put: PutTypeDef = {
        "TableName": table,
        "Item": request_item(request, SPAM_PREFIX),
        "ConditionExpression": "attribute_not_exists(pk)",
    }
    try:
        if not caps:
            aws.dynamodb().put_item(**put)
            return True
        items: list[TransactWriteItemTypeDef] = [{"Put": put}]
        items.extend(_cap_update(table, cap, now) for cap in caps)
        aws.dynamodb().transact_write_items(TransactItems=items)
    except ClientError as error:
        reasons: list[Any] = list(error.response.get("CancellationReasons", []))
        if any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons[1:]):
            return False  # the address's hour is full: a flood is not kept
        raise unavailable(error) from error
    except BotoCoreError as error:
        raise unavailable(error) from error
    return True


def request_from_image(image: dict[str, Any]) -> StoredCallbackRequest:
    """A stored request from a deserialized item (a stream record's ``NewImage``); the table's own
    attributes (keys, index attributes, claims) are not fields of the record and are ignored."""
    return StoredCallbackRequest.model_validate(image)


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
    table = table_name()
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
                            "call_by": deadline_text(request.call_by) if request.call_by else None,
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
            return SaveOutcome(request_id=request.id, created=True, call_by=request.call_by)
        except ClientError as error:
            if error_code(error) != "TransactionCanceledException":
                raise unavailable(error) from error
            reasons: list[Any] = list(error.response.get("CancellationReasons", []))
            earlier = _earlier_marker(reasons[: 1 + len(dedupe_keys)])
            if earlier and str(earlier["request_id"]["S"]) == request.id:
                # Our own earlier try landed (its answer was lost, and the SDK or we retried).
                return SaveOutcome(request_id=request.id, created=True, call_by=request.call_by)
            if earlier:
                return SaveOutcome(
                    request_id=str(earlier["request_id"]["S"]),
                    created=False,
                    call_by=_optional_moment(earlier.get("call_by", {}).get("S")),
                )
            cap_reasons = reasons[1 + len(dedupe_keys) :]
            for cap, reason in zip(caps, cap_reasons, strict=False):
                if reason.get("Code") == "ConditionalCheckFailed":
                    return SaveOutcome(
                        request_id=request.id, created=False, call_by=request.call_by, capped_by=cap.layer
                    )
            conflicted = any(reason.get("Code") == "TransactionConflict" for reason in reasons)
            late = time.monotonic() - started > _CONFLICT_RETRY_WITHIN_SECONDS
            if not conflicted or attempt == _CONFLICT_ATTEMPTS or late:
                raise StorageUnavailableError("transaction cancelled") from error
            # Two copies of one request raced (a double click): the next try sees the winner's marker.
            time.sleep(0.02 * attempt)
        except BotoCoreError as error:
            raise unavailable(error) from error
    raise StorageUnavailableError("unreachable")  # pragma: no cover


def _earlier_marker(reasons: list[Any]) -> dict[str, Any] | None:
    # Markers follow the request in the transaction, the idempotency key's first.
    for reason in reasons[1:]:
        if reason.get("Code") == "ConditionalCheckFailed":
            marker: dict[str, Any] = reason.get("Item", {})
            if marker.get("request_id", {}).get("S"):
                return marker
    return None


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def unavailable(error: ClientError | BotoCoreError) -> StorageUnavailableError:
    """The table refused (its error code) or could not be reached (the SDK's error type)."""
    code = error_code(error) if isinstance(error, ClientError) else type(error).__name__
    return StorageUnavailableError(code)


def get_request(request_id: str) -> StoredCallbackRequest | None:
    """One stored request (strongly consistent), or None when there is none by that id."""
    try:
        answer = aws.dynamodb().get_item(
            TableName=table_name(),
            Key={"pk": {"S": REQUEST_PREFIX + request_id}},
            ConsistentRead=True,
        )
    except (ClientError, BotoCoreError) as error:
        raise unavailable(error) from error
    item = answer.get("Item")
    return request_from_image(aws.plain_item(item)) if item else None


class ContactOutcome(NamedTuple):
    """What marking a request called did: ``marked`` now, or found it already marked (or gone)."""

    marked: bool
    request: StoredCallbackRequest | None


def mark_contacted(request_id: str, contacted_at: str) -> ContactOutcome:
    """Set ``status = contacted`` and ``contacted_at`` unless already so; one conditional UpdateItem.

    Marking takes the request out of the open-requests index. When the condition fails (a second
    click, a colleague first), DynamoDB hands back the item as it is, with its ``contacted_at``.
    """
    try:
        answer = aws.dynamodb().update_item(
            TableName=table_name(),
            Key={"pk": {"S": REQUEST_PREFIX + request_id}},
            UpdateExpression="SET #status = :contacted, contacted_at = :at REMOVE follow_up, open_call_by",
            ConditionExpression="attribute_exists(pk) AND #status = :new",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":contacted": {"S": "contacted"},
                ":new": {"S": "new"},
                ":at": {"S": contacted_at},
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            item = error.response.get("Item")
            found = request_from_image(aws.plain_item(item)) if item else None
            return ContactOutcome(marked=False, request=found)
        raise unavailable(error) from error
    except BotoCoreError as error:
        raise unavailable(error) from error
    return ContactOutcome(marked=True, request=request_from_image(aws.plain_item(answer["Attributes"])))


def _query_all(query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item a query of an index finds, page after page (never a scan)."""
    query = dict(query, TableName=table_name())
    try:
        while True:
            page = aws.dynamodb().query(**query)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    except (ClientError, BotoCoreError) as error:
        raise unavailable(error) from error


def open_requests_due_before(cutoff: datetime) -> list[OpenRequest]:
    """Requests nobody has marked called whose deadline is before ``cutoff``, oldest deadline first.

    A query of the sparse open-requests index (never a scan), page by page.
    """
    items = _query_all(
        {
            "IndexName": OPEN_REQUESTS_INDEX,
            "KeyConditionExpression": "follow_up = :open AND open_call_by < :cutoff",
            "ExpressionAttributeValues": {":open": {"S": OPEN}, ":cutoff": {"S": utc_timestamp(cutoff)}},
            "ScanIndexForward": True,
        }
    )
    return [
        OpenRequest(
            id=item["id"]["S"],
            created_at=parse_timestamp(item["created_at"]["S"]),
            best_time=BestTime(item["best_time"]["S"]),
            call_by=parse_timestamp(item["call_by"]["S"]),
        )
        for item in items
    ]


def requests_of_week(week: str) -> list[WeekRequest]:
    """Every request made in the office week starting ``week`` (its Monday, ISO), oldest first.

    A query of the ``by-week`` index (never a scan), page by page.
    """
    # Only the weekly summary reads weeks: its records are not loaded at the other cold starts.
    from callbacks.models.week import WeekRequest

    items = _query_all(
        {
            "IndexName": BY_WEEK_INDEX,
            "KeyConditionExpression": "#week = :week",
            "ExpressionAttributeNames": {"#week": "week"},
            "ExpressionAttributeValues": {":week": {"S": week}},
            "ScanIndexForward": True,
        }
    )
    found = []
    for item in items:
        values = aws.plain_item(item)
        found.append(
            WeekRequest(
                id=str(values["id"]),
                created_at=parse_timestamp(str(values["created_at"])),
                status=str(values.get("status", "new")),
                best_time=BestTime(values.get("best_time", "anytime")),
                call_by=_optional_moment(values.get("call_by")),
                contacted_at=_optional_moment(values.get("contacted_at")),
                source_url=values.get("source_url"),
            )
        )
    return found
