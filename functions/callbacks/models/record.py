"""One call-back request as the table stores it and the notifier reads it back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from callbacks.models.choices import BestTime, Interest
from callbacks.models.form import CONSENT_TEXT, CONSENT_VERSION


def utc_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC to the millisecond, ``Z``-suffixed: every timestamp the record holds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_timestamp(value: str) -> datetime:
    """A stored timestamp back as an aware datetime (naive ones are UTC)."""
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


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
    email: str | None = None
    best_time: BestTime
    interest: Interest
    message: str | None = None
    source_url: str | None = None
    consent: ConsentRecord
    expires_at: int
    correlation_id: str | None = None
    notified_at: str | None = None
    ses_message_id: str | None = None
