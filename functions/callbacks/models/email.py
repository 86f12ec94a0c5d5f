"""The shapes of an email to the office, as rendered (emails/) and handed to SES (adapters/ses.py)."""

from __future__ import annotations

from typing import NamedTuple

# The SES message tag that names the request an alert is about (bounce and complaint events carry it).
REQUEST_ID_TAG = "request_id"


class StaffAlert(NamedTuple):
    """One rendered email: what ``send_staff_alert`` hands to SES."""

    request_id: str
    subject: str
    text: str
    html: str
    reply_to: str | None


class OfficeEmail(NamedTuple):
    """An email to the office that is about no single visitor (no Reply-To)."""

    subject: str
    text: str
    html: str
