"""One call-back request as the table stores it and the notifier reads it back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal, NamedTuple

from pydantic import AwareDatetime, BaseModel, ConfigDict, PlainSerializer

from callbacks.models.choices import BestTime, Interest
from callbacks.models.form import CONSENT_TEXT, CONSENT_VERSION

REFERENCE_LENGTH = 8


def reference(request_id: str) -> str:
    """A short reference a person can say on the phone: the id's first characters.

    The staff email's subject, the API's receipt, the form's confirmation and the thank-you page
    all show this one.
    """
    return "".join(char for char in request_id if char.isascii() and char.isalnum())[
        :REFERENCE_LENGTH
    ].upper()


def utc_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC to the millisecond, ``Z``-suffixed: every timestamp the record holds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(value: str) -> datetime:
    """A stored timestamp back as an aware datetime (naive ones are UTC)."""
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def deadline_text(moment: datetime) -> str:
    """A deadline as stored and answered: ISO 8601 with its offset, to the second."""
    return moment.isoformat(timespec="seconds")


# A deadline: an aware datetime in memory, ISO 8601 with its offset to the second when stored
# (``2026-11-24T12:00:00-06:00``), so it is parsed once, where it is read.
Deadline = Annotated[
    AwareDatetime,
    PlainSerializer(deadline_text, return_type=str, when_used="json"),
]


class ConsentRecord(BaseModel):
    """What the visitor agreed to, when, on which page and from which address."""

    model_config = ConfigDict(frozen=True)

    text: str = CONSENT_TEXT
    version: str = CONSENT_VERSION
    agreed_at: str
    source_url: str | None = None
    ip_address: str | None = None


class StoredCallbackRequest(BaseModel):
    """One call-back request as stored in the table and read back by the notifier."""

    model_config = ConfigDict(frozen=True)

    id: str
    created_at: str
    status: Literal["new", "contacted"] = "new"
    name: str
    phone: str
    # The extension typed after the number (digits only), dialled after the call connects.
    phone_extension: str | None = None
    email: str | None = None
    best_time: BestTime
    # None: the visitor chose nothing (shown as "Not specified"), never a treatment by default.
    interest: Interest | None = None
    message: str | None = None
    source_url: str | None = None
    consent: ConsentRecord
    expires_at: int
    correlation_id: str | None = None
    notified_at: str | None = None
    ses_message_id: str | None = None
    # When the office promised to call (ISO 8601 with the office's offset; deadline.py), and when
    # someone marked it called. Optional: records stored before the deadline existed still load.
    call_by: Deadline | None = None
    # The Monday (office time, ISO date) of the week it arrived in: the weekly summary's index key.
    week: str | None = None
    contacted_at: str | None = None
    # Set on a submission a spam layer caught and kept (``spam#`` items, never emailed).
    caught_by: Literal["honeypot"] | None = None
    # Set while Turnstile is on and did not verify this request (no response, or Cloudflare out of
    # reach): stored and alerted like any other, but its email says it is unverified.
    unverified: Literal["no_turnstile_response", "turnstile_unavailable"] | None = None


class OpenRequest(NamedTuple):
    """What the open-requests index holds of a request: enough for the digest, nothing personal."""

    id: str
    created_at: datetime
    best_time: BestTime
    call_by: datetime


class DedupeKey(NamedTuple):
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


class Cap(NamedTuple):
    """A counter a new request must fit under, kept for ``window_seconds`` (a spam layer's cap)."""

    layer: Literal["phone_cap", "address_cap"]
    key: str
    limit: int
    window_seconds: int
