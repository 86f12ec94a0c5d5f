"""Registering a call-back request: from a validated form to a stored record, once.

This is the logic the intake entry point calls. It never sees the HTTP event or the
environment: the caller passes what the visitor sent and where it came from.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Literal, NamedTuple, TypeVar

from callbacks.adapters import store
from callbacks.core import deadline
from callbacks.core.office import week_of
from callbacks.core.settings import Settings
from callbacks.logic import spam
from callbacks.models.errors import SecretUnavailableError
from callbacks.models.form import CallbackRequestIn
from callbacks.models.record import Cap, ConsentRecord, DedupeKey, StoredCallbackRequest, utc_timestamp

T = TypeVar("T")
UnverifiedReason = Literal["no_turnstile_response", "turnstile_unavailable"]

# The same phone, name, interest and message within this window is a double submission.
DUPLICATE_WINDOW_SECONDS = 10 * 60
# A rendered form's key stays unique for a day: a visitor who comes back tomorrow to the same tab
# and sends again is asking again.
IDEMPOTENCY_WINDOW_SECONDS = 24 * 60 * 60
# A honeypot catch is kept this long, for a person whose autofill tool filled the hidden field.
SPAM_RETENTION_SECONDS = 7 * 24 * 60 * 60


# What the visitor sent that the record keeps (not the honeypot, not the idempotency key).
_STORED_FIELDS = {"name", "phone", "email", "best_time", "interest", "message", "source_url"}


class Arrival(NamedTuple):
    """Where and when a request arrived, as API Gateway saw it."""

    ip_address: str | None
    correlation_id: str | None
    received_at: datetime


class Registration(NamedTuple):
    """What became of a request: stored anew, found as a repeat, or caught by a spam layer."""

    request_id: str
    created: bool
    # When the office will have called (aware, office time): for a repeat, the first request's.
    call_by: datetime
    caught_by: str | None = None
    kept: bool = False  # a spam catch kept (briefly) for review
    unverified: UnverifiedReason | None = None  # stored, but Turnstile did not verify it


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def content_fingerprint(request: CallbackRequestIn | StoredCallbackRequest) -> str:
    """What makes two submissions the same request: phone, name, interest and message.

    The stored record gives the same digest, so erasing a request can find its marker.
    """
    message = " ".join((request.message or "").split())
    phone = request.phone + (f";ext={request.phone_extension}" if request.phone_extension else "")
    interest = request.interest.value if request.interest else ""
    return _digest(phone, " ".join(request.name.casefold().split()), interest, message)


def content_digest(request: CallbackRequestIn) -> str:
    """Everything the record keeps of what the visitor sent: an idempotency key names one content."""
    # The extension too: a corrected extension under the same key is a correction, not a repeat.
    extension = f";ext={request.phone_extension}" if request.phone_extension else ""
    content = request.model_dump_json(include=_STORED_FIELDS) + extension
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def dedupe_keys(request: CallbackRequestIn, idempotency_key: str | None) -> list[DedupeKey]:
    keys = []
    key = idempotency_key or request.idempotency_key
    key_hash = _digest(key) if key else None
    content = content_digest(request)
    if key_hash:
        keys.append(DedupeKey("idempotency", key_hash, IDEMPOTENCY_WINDOW_SECONDS, content, key_hash))
    keys.append(
        DedupeKey("fingerprint", content_fingerprint(request), DUPLICATE_WINDOW_SECONDS, content, key_hash)
    )
    return keys


def stored_record(
    request: CallbackRequestIn, arrival: Arrival, call_by: datetime, settings: Settings, **changes: object
) -> StoredCallbackRequest:
    """The record of ``request``, built once: a new id, its deadline and its office week."""
    created_at = utc_timestamp(arrival.received_at)
    expires_at = int(arrival.received_at.timestamp()) + settings.retention_days * 86400
    fields = {
        "id": str(uuid.uuid4()),
        "created_at": created_at,
        **request.model_dump(include=_STORED_FIELDS),
        "phone_extension": request.phone_extension,
        "consent": ConsentRecord(
            agreed_at=created_at, source_url=request.source_url, ip_address=arrival.ip_address
        ),
        "expires_at": expires_at,
        "correlation_id": arrival.correlation_id,
        "call_by": call_by,
        "week": week_of(arrival.received_at, settings.office_time_zone).isoformat(),
    }
    return StoredCallbackRequest.model_validate(fields | changes)


def deadline_of(request: CallbackRequestIn, arrival: Arrival, settings: Settings) -> datetime:
    """When the office promises to have called: the request's ``call_by``, in office time."""
    return deadline.call_by(arrival.received_at, request.best_time, deadline.office_calendar(settings))


class Verdict(NamedTuple):
    """What the spam layers made of a request: the layer that caught it, the caps it must fit
    under, and why Turnstile (when on) did not verify it."""

    caught_by: str | None = None
    caps: tuple[Cap, ...] = ()
    unverified: UnverifiedReason | None = None


def spam_verdict(request: CallbackRequestIn, arrival: Arrival, settings: Settings) -> Verdict:
    """The spam layers' verdict, each layer on its own.

    A lost patient costs more than a stray bot: a layer that fails (a secret unreadable, a verifier
    down, a bug) judges nothing and is counted; the request is stored as the other layers decide.
    With Turnstile on, a request Turnstile did not verify is never treated as verified.
    """
    now = arrival.received_at.timestamp()
    failed: list[str] = []
    caught_by = _judged(lambda: spam.judge_render_token(request.render_token, now, settings), failed)
    turnstile = _judged(
        lambda: spam.judge_turnstile(request.turnstile_response, arrival.ip_address, settings), failed
    )
    if turnstile == "refused":
        caught_by = caught_by or "turnstile"
    caps = _caps(request, arrival, settings, failed)
    if failed:
        spam.layers_unavailable(failed[0])  # once a request, however many layers one outage took down
    unverified: UnverifiedReason | None = None
    if turnstile in ("no_turnstile_response", "turnstile_unavailable"):
        unverified = turnstile
    elif settings.turnstile_secret_parameter and turnstile is None:  # the layer itself failed
        unverified = "turnstile_unavailable"
    return Verdict(caught_by=caught_by, caps=caps, unverified=unverified)


def _caps(
    request: CallbackRequestIn, arrival: Arrival, settings: Settings, failed: list[str]
) -> tuple[Cap, ...]:
    """The caps a request must fit under (none when the layer failed, noted in ``failed``)."""
    caps = _judged(
        lambda: spam.caps(request.phone, arrival.ip_address, arrival.received_at, settings), failed
    )
    return tuple(caps or ())


def _judged(layer: Callable[[], T], failed: list[str]) -> T | None:
    """One layer's answer, or None when it failed (its error type noted in ``failed``)."""
    try:
        return layer()
    except Exception as error:  # any layer's failure; its text may quote what the visitor sent
        failed.append(str(error) if isinstance(error, SecretUnavailableError) else type(error).__name__)
        return None


def _caught_by_honeypot(request: CallbackRequestIn, arrival: Arrival, settings: Settings) -> Registration:
    call_by = deadline_of(request, arrival, settings)
    if not request.is_valid_spam:
        # Garbage is kept nowhere: an id and a deadline for the receipt only.
        return Registration(request_id=str(uuid.uuid4()), created=True, call_by=call_by, caught_by="honeypot")
    now = int(arrival.received_at.timestamp())
    caught = stored_record(
        request, arrival, call_by, settings, caught_by="honeypot", expires_at=now + SPAM_RETENTION_SECONDS
    )
    # The address's hour only: a catch never uses up a person's own daily calls.
    failed: list[str] = []
    address_caps = [cap for cap in _caps(request, arrival, settings, failed) if cap.layer == "address_cap"]
    if failed:
        spam.layers_unavailable(failed[0])
    kept = store.save_spam(caught, address_caps, now)
    return Registration(request_id=caught.id, created=True, call_by=call_by, caught_by="honeypot", kept=kept)


def register_callback_request(
    request: CallbackRequestIn, idempotency_key: str | None, arrival: Arrival, settings: Settings
) -> Registration:
    """Store a new request, or find the one it repeats; one DynamoDB call either way.

    A request a spam layer catches gets a receipt like anyone else's and is never emailed; only a
    honeypot catch with valid fields is kept, briefly, as ``spam#``.
    """
    if request.is_spam:
        # Caught by the honeypot: a receipt like anyone else's, never an email. Valid fields are
        # kept for a week under spam#, within the per-address cap, so a real person whose
        # autofill tool filled the hidden field can still be found; garbage is not kept.
        return _caught_by_honeypot(request, arrival, settings)
    verdict = spam_verdict(request, arrival, settings)
    call_by = deadline_of(request, arrival, settings)
    if verdict.caught_by:
        # Nothing is stored: an id and a deadline for the receipt only.
        return Registration(
            request_id=str(uuid.uuid4()), created=True, call_by=call_by, caught_by=verdict.caught_by
        )
    record = stored_record(request, arrival, call_by, settings, unverified=verdict.unverified)
    now = int(arrival.received_at.timestamp())
    keys = dedupe_keys(request, idempotency_key)
    saved = store.save_new_request(record, keys, now=now, caps=list(verdict.caps))
    if saved.capped_by:
        return Registration(
            request_id=saved.request_id, created=True, call_by=call_by, caught_by=saved.capped_by
        )
    # A marker written before deadlines existed carries none: this request's is minutes from it.
    return Registration(
        request_id=saved.request_id,
        created=saved.created,
        call_by=saved.call_by or call_by,
        unverified=verdict.unverified if saved.created else None,
    )
