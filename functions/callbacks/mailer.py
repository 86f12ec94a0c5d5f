"""The staff alert: rendered from a stored request, sent through SES v2.

Headers carry only what the deployment configured and what the server made: the subject is a
reference cut from the request id and the call-back window; ``Reply-To`` is the validated email.
Every visitor value goes into the body only, escaped in the HTML part and literal in the text part.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from botocore.exceptions import BotoCoreError, ClientError

from callbacks import aws
from callbacks.models.choices import BestTime, Interest
from callbacks.models.record import StoredCallbackRequest, parse_timestamp
from callbacks.office import OFFICE_TIME_ZONE
from callbacks.settings import Settings

CHARSET = "UTF-8"
REFERENCE_LENGTH = 8
_TEMPLATE = Path(__file__).resolve().parent / "templates" / "staff_alert.html"
# How the email (and the form's snippet, which a test holds to these) names each choice.
BEST_TIME_LABELS = {
    BestTime.MORNING: "Morning (8 am - noon)",
    BestTime.AFTERNOON: "Afternoon (noon - 5 pm)",
    BestTime.EVENING: "Evening (5 pm - 7 pm)",
    BestTime.ANYTIME: "Any time",
}
INTEREST_LABELS = {
    Interest.FRACTIONAL_CO2_LASER: "Fractional CO2 laser resurfacing",
    Interest.WRINKLES_FINE_LINES: "Wrinkles and fine lines",
    Interest.SUN_SPOTS_DISCOLORATION: "Sun spots and discoloration",
    Interest.SCARS_BURNS: "Scars and burns",
    Interest.STRETCH_MARKS: "Stretch marks",
    Interest.OTHER: "Something else",
}
_WINDOWS = {
    BestTime.MORNING: "call in the morning",
    BestTime.AFTERNOON: "call in the afternoon",
    BestTime.EVENING: "call in the evening",
    BestTime.ANYTIME: "call any time",
}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# An address SES accepts in a header: printable ASCII, no spaces, separators or brackets.
_HEADER_SAFE_ADDRESS = re.compile(r"[!#-'*+\-/-9=?A-Z^-~.]+@[A-Za-z0-9.-]+")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")


class StaffAlertNotSentError(Exception):
    """SES did not take the alert. Carries the error code only: SES messages can echo addresses."""


@dataclass(frozen=True)
class StaffAlert:
    """One rendered email: what ``send_staff_alert`` hands to SES."""

    request_id: str
    subject: str
    text: str
    html: str
    reply_to: str | None


def reference(request_id: str) -> str:
    """A short reference a person can say on the phone: the id's first characters."""
    return "".join(char for char in request_id if char.isascii() and char.isalnum())[
        :REFERENCE_LENGTH
    ].upper()


def subject_line(request: StoredCallbackRequest) -> str:
    return f"Call-back request {reference(request.id)} - {_WINDOWS[request.best_time]}"


def readable_phone(e164: str) -> str:
    """(662) 377-6290 for North American numbers, +44 20 7946 0958 for the others."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if number.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return str(phonenumbers.format_number(number, style))


def tel_href(e164: str) -> str:
    return "tel:" + "".join(char for char in e164 if char == "+" or char.isdigit())


def office_time(moment: datetime) -> str:
    """Mon, Nov 23, 2026 at 1:23 PM CST: in Tupelo's time zone, whatever the server's locale."""
    try:
        local = moment.astimezone(ZoneInfo(OFFICE_TIME_ZONE))
    except ZoneInfoNotFoundError:  # no time zone database: an alert in UTC beats no alert
        local = moment.astimezone(UTC)
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return (
        f"{_DAYS[local.weekday()]}, {_MONTHS[local.month - 1]} {local.day}, {local.year} "
        f"at {hour}:{local.minute:02d} {half} {local.tzname()}"
    )


def reply_to_address(email: str | None) -> str | None:
    """The visitor's address for Reply-To, when SES can carry it in a header (else the body has it)."""
    if not email:
        return None
    local, _, domain = email.rpartition("@")
    try:
        address = f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:
        return None
    return address if _HEADER_SAFE_ADDRESS.fullmatch(address) else None


def _web_link(url: str | None) -> str | None:
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


@cache
def _html_template() -> Template:
    return Template(_TEMPLATE.read_text(encoding="utf-8"))


def _isolated(text: str) -> str:
    """Escaped, in its own bidi isolate: a stray right-to-left override reorders this line only."""
    return f"<bdi>{html.escape(text)}</bdi>" if text else ""


def _html_row(label: str, value_html: str, *, isolate: bool = False) -> str:
    direction = ' dir="auto"' if isolate else ""
    return (
        '<div style="border-top:1px solid #e6e9ec;padding:10px 0;">'
        '<div style="font-size:13px;color:#5b6670;text-transform:uppercase;letter-spacing:0.03em;">'
        f"{label}</div>"
        f'<div{direction} style="overflow-wrap:anywhere;word-break:break-word;">{value_html}</div>'
        "</div>"
    )


def render_staff_alert(request: StoredCallbackRequest, settings: Settings) -> StaffAlert:
    """The email about ``request``; ``settings.email_include_details`` decides on message and interest."""
    phone = readable_phone(request.phone)
    received = office_time(parse_timestamp(request.created_at))
    best_time = BEST_TIME_LABELS[request.best_time]
    reply_to = reply_to_address(request.email)
    details = settings.email_include_details
    interest = INTEREST_LABELS[request.interest] if details else None
    message = request.message if details and request.message else None
    link = _web_link(request.source_url)

    text_lines = [
        "New call-back request",
        "",
        f"Name: {request.name}",
        f"Phone: {phone}",
        f"Call: {tel_href(request.phone)}",
        f"Best time: {best_time}",
    ]
    if interest:
        text_lines.append(f"Interested in: {interest}")
    if message:
        text_lines += ["Message:", message]
    if request.source_url:
        text_lines.append(f"Page: {request.source_url}")
    if request.email and not reply_to:
        text_lines.append(f"Email: {request.email}")
    text_lines += [f"Received: {received}", f"Request id: {request.id}", ""]

    esc = html.escape
    rows = [_html_row("Best time to call", esc(best_time))]
    if interest:
        rows.append(_html_row("Interested in", esc(interest)))
    if message:
        rows.append(
            _html_row(
                "Message", "<br>".join(_isolated(line) for line in _LINE_BREAKS.split(message)), isolate=True
            )
        )
    if request.source_url:
        page = _isolated(request.source_url)
        if link:
            page = f'<a href="{esc(link, quote=True)}" style="color:#1f4e5f;">{page}</a>'
        rows.append(_html_row("Page", page))
    if request.email and not reply_to:
        rows.append(_html_row("Email", esc(request.email)))
    reply_note = (
        "Replying to this email writes to the visitor."
        if reply_to
        else "The visitor gave no email address: please call."
        if not request.email
        else "The visitor's email address is shown above."
    )
    page_html = _html_template().substitute(
        title=esc(subject_line(request)),
        reference=esc(reference(request.id)),
        received=esc(received),
        name=esc(request.name),
        tel_href=esc(tel_href(request.phone), quote=True),
        phone=esc(phone),
        rows="\n".join(rows),
        request_id=esc(request.id),
        reply_note=esc(reply_note),
    )
    return StaffAlert(
        request_id=request.id,
        subject=subject_line(request),
        text="\n".join(text_lines),
        html=page_html,
        reply_to=reply_to,
    )


def send_staff_alert(alert: StaffAlert, settings: Settings) -> str:
    """Send ``alert`` to every office address; the SES message id, or ``StaffAlertNotSentError``."""
    request: dict[str, Any] = {
        "FromEmailAddress": settings.sender_email,
        "Destination": {"ToAddresses": list(settings.office_emails)},
        "Content": {
            "Simple": {
                "Subject": {"Data": alert.subject, "Charset": CHARSET},
                "Body": {
                    "Text": {"Data": alert.text, "Charset": CHARSET},
                    "Html": {"Data": alert.html, "Charset": CHARSET},
                },
            }
        },
    }
    if alert.reply_to:
        request["ReplyToAddresses"] = [alert.reply_to]
    if settings.ses_configuration_set:
        request["ConfigurationSetName"] = settings.ses_configuration_set
    try:
        answer = aws.sesv2().send_email(**request)
    except ClientError as error:
        # `from None`: the SES message may quote an address, and tracebacks end up in logs.
        raise StaffAlertNotSentError(
            str(error.response.get("Error", {}).get("Code", "ClientError"))
        ) from None
    except BotoCoreError as error:
        raise StaffAlertNotSentError(type(error).__name__) from None
    return str(answer["MessageId"])
