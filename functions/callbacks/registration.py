"""Registering a call-back request: from a validated form to a stored record, once.

This is the logic the intake entry point calls. It never sees the HTTP event or the
environment: the caller passes what the visitor sent and where it came from.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from callbacks import signing, spam, store
from callbacks.models.form import CallbackRequestIn
from callbacks.models.record import ConsentRecord, StoredCallbackRequest, utc_timestamp
from callbacks.settings import Settings

# The same phone, name, interest and message within this window is a double submission.
DUPLICATE_WINDOW_SECONDS = 10 * 60
# A rendered form's key stays unique for a day: a visitor who comes back tomorrow to the same tab
# and sends again is asking again.
IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60


# What the visitor sent that the record keeps (not the honeypot, not the idempotency key).
_STORED_FIELDS = {"name", "phone", "email", "best_time", "interest", "message", "source_url"}


@dataclass(frozen=True)
class Arrival:
    """Where and when a request arrived, as API Gateway saw it."""

    ip_address: str | None
    correlation_id: str | None
    received_at: datetime


@dataclass(frozen=True)
class Registration:
    """What became of a request: stored anew, found as a repeat, or caught by a spam layer."""

    request_id: str
    created: bool
    caught_by: str | None = None


def new_request_id() -> str:
    return str(uuid.uuid4())


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def content_fingerprint(request: CallbackRequestIn) -> str:
    """What makes two submissions the same request: phone, name, interest and message."""
    message = " ".join((request.message or "").split())
    return _digest(request.phone, " ".join(request.name.casefold().split()), request.interest.value, message)


def content_digest(request: CallbackRequestIn) -> str:
    """Everything the record keeps of what the visitor sent: an idempotency key names one content."""
    return hashlib.sha256(request.model_dump_json(include=_STORED_FIELDS).encode("utf-8")).hexdigest()


def dedupe_keys(request: CallbackRequestIn, idempotency_key: str | None) -> list[store.DedupeKey]:
    keys = []
    key = idempotency_key or request.idempotency_key
    key_hash = _digest(key) if key else None
    content = content_digest(request)
    if key_hash:
        keys.append(store.DedupeKey("idempotency", key_hash, IDEMPOTENCY_WINDOW_SECONDS, content, key_hash))
    keys.append(
        store.DedupeKey(
            "fingerprint", content_fingerprint(request), DUPLICATE_WINDOW_SECONDS, content, key_hash
        )
    )
    return keys


def stored_record(
    request: CallbackRequestIn, request_id: str, arrival: Arrival, settings: Settings
) -> StoredCallbackRequest:
    created_at = utc_timestamp(arrival.received_at)
    return StoredCallbackRequest(
        id=request_id,
        created_at=created_at,
        **request.model_dump(include=_STORED_FIELDS),
        consent=ConsentRecord(
            agreed_at=created_at, source_url=request.source_url, ip_address=arrival.ip_address
        ),
        expires_at=int(arrival.received_at.astimezone(UTC).timestamp()) + settings.retention_days * 86400,
        correlation_id=arrival.correlation_id,
    )


def register_callback_request(
    request: CallbackRequestIn, idempotency_key: str | None, arrival: Arrival, settings: Settings
) -> Registration:
    """Store a new request, or find the one it repeats; one DynamoDB call either way.

    A request a spam layer catches gets a receipt like anyone else's, and nothing is stored.
    """
    if request.is_spam:
        return Registration(request_id=new_request_id(), created=True, caught_by="honeypot")
    now = arrival.received_at.timestamp()
    try:
        caught_by = spam.judge_render_token(request.render_token, now, settings) or spam.judge_turnstile(
            request.turnstile_response, request.render_token, arrival.ip_address, settings
        )
        caps = spam.caps(request.phone, arrival.ip_address, arrival.received_at, settings)
    except signing.SecretUnavailableError as error:
        # A lost patient costs more than a stray bot: without the secret, store it unjudged.
        spam.layers_unavailable(str(error))
        caught_by, caps = None, []
    if caught_by:
        return Registration(request_id=new_request_id(), created=True, caught_by=caught_by)
    record = stored_record(request, new_request_id(), arrival, settings)
    saved = store.save_new_request(record, dedupe_keys(request, idempotency_key), now=int(now), caps=caps)
    if saved.capped_by:
        return Registration(request_id=saved.request_id, created=True, caught_by=saved.capped_by)
    return Registration(request_id=saved.request_id, created=saved.created)
