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
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from callbacks import aws
from callbacks.models.record import StoredCallbackRequest, parse_timestamp, utc_timestamp
from callbacks.office import week_of
from callbacks.settings import get_settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import PutTypeDef, TransactWriteItemTypeDef

REQUEST_PREFIX = "request#"
OPEN_REQUESTS_INDEX = "OpenRequests"
OPEN = "open"
# Attributes of the table's shape, not of the record: never read back into the model.
_INDEX_ATTRIBUTES = frozenset({"pk", "follow_up", "open_call_by", "email_key", "week"})
# A honeypot catch: the stream's filter, the notifier and every request index pass over it.
SPAM_PREFIX = "spam#"
_CONFLICT_ATTEMPTS = 3
# A racing copy is retried only this soon after the first try: the visitor's 6 s budget holds.
_CONFLICT_RETRY_WITHIN_SECONDS = 1.0
ALERT_PENDING_INDEX = "alert-pending"
# The one value of the index's key: every un-notified request is in one partition, oldest first.
ALERT_PENDING = "pending"
BY_WEEK_INDEX = "by-week"


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
    # The stored request's deadline; for a duplicate, the first request's (None: a marker older
    # than deadlines).
    call_by: str | None = None
    capped_by: str | None = None


@dataclass(frozen=True)
class OpenRequest:
    """What the open-requests index holds of a request: enough for the digest, nothing personal."""

    id: str
    created_at: str
    best_time: str
    call_by: str


def utc_sort_key(iso_with_offset: str) -> str:
    """A deadline as the index sorts it: UTC, ``Z``-suffixed (offsets would not sort across DST)."""
    return utc_timestamp(datetime.fromisoformat(iso_with_offset))


def week_key(moment: datetime) -> str:
    """The ``by-week`` index's key of a request made at ``moment``: its office week's Monday."""
    return week_of(moment, get_settings().office_time_zone).isoformat()


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
        values["week"] = week_key(parse_timestamp(request.created_at))
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
    table = get_settings().table_name
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
        raise _unavailable(error) from error
    except BotoCoreError as error:
        raise _unavailable(error) from error
    return True


@dataclass(frozen=True)
class AlertClaim:
    """What a claim on a request's staff alert found.

    ``claimed``: this caller may send (``took_over_from`` is set when it took over a stale claim,
    whose holder may have sent already); ``already_notified``: recorded before; ``claimed_elsewhere``:
    another caller holds a fresh claim; ``gone``: no such request (erased, or expired).
    """

    outcome: Literal["claimed", "already_notified", "claimed_elsewhere", "gone"]
    took_over_from: str | None = None


@dataclass(frozen=True)
class PendingAlert:
    """A request found by the sweep; ``request`` is None when the stored item does not validate."""

    request_id: str
    request: StoredCallbackRequest | None


def request_from_image(image: dict[str, Any]) -> StoredCallbackRequest:
    """A stored request from a deserialized item (a stream record's ``NewImage``)."""
    return StoredCallbackRequest.model_validate(
        {k: v for k, v in image.items() if k not in _INDEX_ATTRIBUTES}
    )


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
                            "call_by": request.call_by,
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
            if _error_code(error) != "TransactionCanceledException":
                raise _unavailable(error) from error
            reasons: list[Any] = list(error.response.get("CancellationReasons", []))
            earlier = _earlier_marker(reasons[: 1 + len(dedupe_keys)])
            if earlier and str(earlier["request_id"]["S"]) == request.id:
                # Our own earlier try landed (its answer was lost, and the SDK or we retried).
                return SaveOutcome(request_id=request.id, created=True, call_by=request.call_by)
            if earlier:
                return SaveOutcome(
                    request_id=str(earlier["request_id"]["S"]),
                    created=False,
                    call_by=earlier.get("call_by", {}).get("S"),
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
            raise _unavailable(error) from error
    raise StorageUnavailableError("unreachable")  # pragma: no cover


def _earlier_marker(reasons: list[Any]) -> dict[str, Any] | None:
    # Markers follow the request in the transaction, the idempotency key's first.
    for reason in reasons[1:]:
        if reason.get("Code") == "ConditionalCheckFailed":
            marker: dict[str, Any] = reason.get("Item", {})
            if marker.get("request_id", {}).get("S"):
                return marker
    return None


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _unavailable(error: ClientError | BotoCoreError) -> StorageUnavailableError:
    """The table refused (its error code) or could not be reached (the SDK's error type)."""
    code = _error_code(error) if isinstance(error, ClientError) else type(error).__name__
    return StorageUnavailableError(code)


def claim_alert(request_id: str, token: str, now: str, stale_before: str) -> AlertClaim:
    """Claim the right to send a request's alert: one conditional ``UpdateItem``.

    It succeeds when no alert is recorded and no claim is held, or the claim held is older than
    ``stale_before`` (its holder died: a Lambda invocation never outlives its timeout).
    """
    try:
        answer = aws.background_dynamodb().update_item(
            TableName=get_settings().table_name,
            Key={"pk": {"S": REQUEST_PREFIX + request_id}},
            UpdateExpression="SET alert_claimed_at = :now, alert_claim_token = :token",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(notified_at) AND "
            "(attribute_not_exists(alert_claimed_at) OR alert_claimed_at < :stale)",
            ExpressionAttributeValues={
                ":now": {"S": now},
                ":token": {"S": token},
                ":stale": {"S": stale_before},
            },
            ReturnValues="UPDATED_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if _error_code(error) != "ConditionalCheckFailedException":
            raise _unavailable(error) from error
        found: Any = error.response.get("Item") or {}
        if not found:
            return AlertClaim("gone")
        if "notified_at" in found:
            return AlertClaim("already_notified")
        if found.get("alert_claim_token", {}).get("S") == token:
            # The SDK retried a claim whose answer was lost: the first attempt took it for us.
            return AlertClaim("claimed")
        return AlertClaim("claimed_elsewhere")
    except BotoCoreError as error:
        raise _unavailable(error) from error
    previous = answer.get("Attributes", {}).get("alert_claimed_at", {}).get("S")
    return AlertClaim("claimed", took_over_from=previous)


def mark_notified(request_id: str, notified_at: str, ses_message_id: str, token: str) -> bool:
    """Record the sent alert, if the claim is still ours; False when another caller took it over.

    Repeating it is harmless: the SDK's retry of a write whose answer was lost finds its own
    message id and succeeds again. The request leaves the sweep's index.
    """
    try:
        aws.background_dynamodb().update_item(
            TableName=get_settings().table_name,
            Key={"pk": {"S": REQUEST_PREFIX + request_id}},
            UpdateExpression="SET notified_at = if_not_exists(notified_at, :at), ses_message_id = :mid "
            "REMOVE alert_pending, alert_claimed_at, alert_claim_token",
            # Our claim, or our own earlier write (the SDK retried a write whose answer was lost).
            ConditionExpression="attribute_exists(pk) AND "
            "(alert_claim_token = :token OR ses_message_id = :mid)",
            ExpressionAttributeValues={
                ":at": {"S": notified_at},
                ":mid": {"S": ses_message_id},
                ":token": {"S": token},
            },
        )
    except ClientError as error:
        if _error_code(error) == "ConditionalCheckFailedException":
            return False
        raise _unavailable(error) from error
    except BotoCoreError as error:
        raise _unavailable(error) from error
    return True


def release_alert_claim(request_id: str, token: str) -> None:
    """Give a claim back (the send certainly failed), so the next try need not wait for it to go stale."""
    try:
        aws.background_dynamodb().update_item(
            TableName=get_settings().table_name,
            Key={"pk": {"S": REQUEST_PREFIX + request_id}},
            UpdateExpression="REMOVE alert_claimed_at, alert_claim_token",
            ConditionExpression="alert_claim_token = :token",
            ExpressionAttributeValues={":token": {"S": token}},
        )
    except ClientError as error:
        if _error_code(error) == "ConditionalCheckFailedException":
            return  # no longer ours: nothing to give back
        raise _unavailable(error) from error
    except BotoCoreError as error:
        raise _unavailable(error) from error


def unsent_alerts(created_before: str, limit: int) -> list[PendingAlert]:
    """Requests whose alert is not recorded, created before ``created_before``, oldest first: one Query."""
    try:
        answer = aws.background_dynamodb().query(
            TableName=get_settings().table_name,
            IndexName=ALERT_PENDING_INDEX,
            KeyConditionExpression="alert_pending = :pending AND created_at < :before",
            ExpressionAttributeValues={":pending": {"S": ALERT_PENDING}, ":before": {"S": created_before}},
            ScanIndexForward=True,
            Limit=limit,
        )
    except (ClientError, BotoCoreError) as error:
        raise _unavailable(error) from error
    found: list[PendingAlert] = []
    for item in answer.get("Items", []):
        pk = str(item.get("pk", {}).get("S", ""))
        if not pk.startswith(REQUEST_PREFIX):
            continue  # only requests are ever emailed
        try:
            request: StoredCallbackRequest | None = request_from_image(aws.plain_item(dict(item)))
        except ValueError:  # a pydantic ValidationError; its text quotes the stored values
            request = None
        found.append(PendingAlert(request_id=pk.removeprefix(REQUEST_PREFIX), request=request))
    return found


def worst_case_call_seconds() -> float:
    """The longest one of the alert calls above can take (see ``aws._CONFIG``)."""
    return aws.worst_case_seconds("dynamodb-background")


def get_request(request_id: str) -> StoredCallbackRequest | None:
    """One stored request (strongly consistent), or None when there is none by that id."""
    try:
        answer = aws.dynamodb().get_item(
            TableName=get_settings().table_name,
            Key={"pk": {"S": REQUEST_PREFIX + request_id}},
            ConsistentRead=True,
        )
    except (ClientError, BotoCoreError) as error:
        raise _unavailable(error) from error
    item = answer.get("Item")
    return request_from_image(aws.plain_item(item)) if item else None


@dataclass(frozen=True)
class ContactOutcome:
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
            TableName=get_settings().table_name,
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
        if _error_code(error) == "ConditionalCheckFailedException":
            item = error.response.get("Item")
            found = request_from_image(aws.plain_item(item)) if item else None
            return ContactOutcome(marked=False, request=found)
        raise _unavailable(error) from error
    except BotoCoreError as error:
        raise _unavailable(error) from error
    return ContactOutcome(marked=True, request=request_from_image(aws.plain_item(answer["Attributes"])))


def _query_all(query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item a query of an index finds, page after page (never a scan)."""
    query = dict(query, TableName=get_settings().table_name)
    try:
        while True:
            page = aws.dynamodb().query(**query)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    except (ClientError, BotoCoreError) as error:
        raise _unavailable(error) from error


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
            created_at=item["created_at"]["S"],
            best_time=item["best_time"]["S"],
            call_by=item["call_by"]["S"],
        )
        for item in items
    ]


@dataclass(frozen=True)
class WeekRequest:
    """What the by-week index holds of a request: enough for the weekly summary, nothing personal."""

    id: str
    created_at: str
    status: str
    best_time: str
    call_by: str | None
    contacted_at: str | None
    source_url: str | None


def requests_of_week(week: str) -> list[WeekRequest]:
    """Every request made in the office week starting ``week`` (its Monday, ISO), oldest first.

    A query of the ``by-week`` index (never a scan), page by page.
    """
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
                created_at=str(values["created_at"]),
                status=str(values.get("status", "new")),
                best_time=str(values.get("best_time", "anytime")),
                call_by=values.get("call_by"),
                contacted_at=values.get("contacted_at"),
                source_url=values.get("source_url"),
            )
        )
    return found
