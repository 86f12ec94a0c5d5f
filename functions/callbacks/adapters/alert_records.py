"""The staff alert's record on a request: claim it, record it, give it back, find the unsent.

The attributes, on the request's own item (store.py has the table's shape): ``alert_pending`` from
the insert until the alert is recorded (the key of the sparse index ``alert-pending``, sorted by
``created_at``, through which the sweep finds the requests never emailed); while an alert is being
sent, a claim (``alert_claimed_at``, ``alert_claim_token``); recording the alert (``notified_at``,
``ses_message_id``) removes all three. Every call is one conditional write or one query.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from botocore.exceptions import BotoCoreError, ClientError

from callbacks.adapters import aws
from callbacks.adapters.store import (
    ALERT_PENDING,
    ALERT_PENDING_INDEX,
    REQUEST_PREFIX,
    error_code,
    request_from_image,
    table_name,
    unavailable,
)
from callbacks.models.record import StoredCallbackRequest


class AlertClaim(NamedTuple):
    """What a claim on a request's staff alert found.

    ``claimed``: this caller may send (``took_over_from`` is set when it took over a stale claim,
    whose holder may have sent already); ``already_notified``: recorded before; ``claimed_elsewhere``:
    another caller holds a fresh claim; ``gone``: no such request (erased, or expired).
    """

    outcome: Literal["claimed", "already_notified", "claimed_elsewhere", "gone"]
    took_over_from: str | None = None


class PendingAlert(NamedTuple):
    """A request found by the sweep; ``request`` is None when the stored item does not validate."""

    request_id: str
    request: StoredCallbackRequest | None


def claim_alert(request_id: str, token: str, now: str, stale_before: str) -> AlertClaim:
    """Claim the right to send a request's alert: one conditional ``UpdateItem``.

    It succeeds when no alert is recorded and no claim is held, or the claim held is older than
    ``stale_before`` (its holder died: a Lambda invocation never outlives its timeout).
    """
    try:
        answer = aws.background_dynamodb().update_item(
            TableName=table_name(),
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
        if error_code(error) != "ConditionalCheckFailedException":
            raise unavailable(error) from error
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
        raise unavailable(error) from error
    previous = answer.get("Attributes", {}).get("alert_claimed_at", {}).get("S")
    return AlertClaim("claimed", took_over_from=previous)


def mark_notified(request_id: str, notified_at: str, ses_message_id: str, token: str) -> bool:
    """Record the sent alert, if the claim is still ours; False when another caller took it over.

    Repeating it is harmless: the SDK's retry of a write whose answer was lost finds its own
    message id and succeeds again. The request leaves the sweep's index.
    """
    try:
        aws.background_dynamodb().update_item(
            TableName=table_name(),
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
        if error_code(error) == "ConditionalCheckFailedException":
            return False
        raise unavailable(error) from error
    except BotoCoreError as error:
        raise unavailable(error) from error
    return True


def release_alert_claim(request_id: str, token: str) -> None:
    """Give a claim back (the send certainly failed), so the next try need not wait for it to go stale."""
    try:
        aws.background_dynamodb().update_item(
            TableName=table_name(),
            Key={"pk": {"S": REQUEST_PREFIX + request_id}},
            UpdateExpression="REMOVE alert_claimed_at, alert_claim_token",
            ConditionExpression="alert_claim_token = :token",
            ExpressionAttributeValues={":token": {"S": token}},
        )
    except ClientError as error:
        if error_code(error) == "ConditionalCheckFailedException":
            return  # no longer ours: nothing to give back
        raise unavailable(error) from error
    except BotoCoreError as error:
        raise unavailable(error) from error


def unsent_alerts(created_before: str, limit: int) -> list[PendingAlert]:
    """Requests whose alert is not recorded, created before ``created_before``, oldest first: one Query."""
    try:
        answer = aws.background_dynamodb().query(
            TableName=table_name(),
            IndexName=ALERT_PENDING_INDEX,
            KeyConditionExpression="alert_pending = :pending AND created_at < :before",
            ExpressionAttributeValues={":pending": {"S": ALERT_PENDING}, ":before": {"S": created_before}},
            ScanIndexForward=True,
            Limit=limit,
        )
    except (ClientError, BotoCoreError) as error:
        raise unavailable(error) from error
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
