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
from callbacks.models.record import StoredCallbackRequest, parse_timestamp, reference
from callbacks.office import OFFICE_TIME_ZONE
from callbacks.settings import Settings

CHARSET = "UTF-8"
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
    Interest.NOT_SURE: "Not sure yet",
}
# A request without an interest: the visitor chose none, and none is made up for them.
INTEREST_NOT_SPECIFIED = "Not specified"
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
EMAIL_LABEL = "Email (as typed, not verified)"
NOT_OURS = "(not the practice's site)"
# What the visitor agreed to, and so all the email invites: a call back at this number.
CONSENT_NOTE = "The visitor agreed to be called back at this number about this request."


__all__ = ["reference", "render_staff_alert", "send_staff_alert"]


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


def tel_href(e164: str, extension: str | None = None) -> str:
    """``tel:+16623776290``, with RFC 3966's ``;ext=12`` when the visitor gave an extension."""
    number = "tel:" + "".join(char for char in e164 if char == "+" or char.isdigit())
    digits = "".join(char for char in extension or "" if char.isdigit())
    return f"{number};ext={digits}" if digits else number


def phone_for_reading(request: StoredCallbackRequest) -> str:
    """(662) 377-6290 ext. 12: the number as staff read it, its extension never dropped."""
    phone = readable_phone(request.phone)
    return f"{phone} ext. {request.phone_extension}" if request.phone_extension else phone


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


def practice_page_link(url: str | None, allowed_origins: tuple[str, ...]) -> str | None:
    """``url`` when it is a page of the practice's own site (an allowed origin), else None.

    Anyone can post any page address: a foreign one is shown as text, never as a link to click.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return url if origin in {allowed.lower() for allowed in allowed_origins} else None


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
    phone = phone_for_reading(request)
    call = tel_href(request.phone, request.phone_extension)
    received = office_time(parse_timestamp(request.created_at))
    best_time = BEST_TIME_LABELS[request.best_time]
    reply_to = reply_to_address(request.email)
    details = settings.email_include_details
    interest_label = INTEREST_LABELS[request.interest] if request.interest else INTEREST_NOT_SPECIFIED
    interest = interest_label if details else None
    message = request.message if details and request.message else None
    link = practice_page_link(request.source_url, settings.allowed_origins)
    page_text = request.source_url if link or not request.source_url else f"{request.source_url} {NOT_OURS}"

    text_lines = [
        "New call-back request",
        "",
        f"Name: {request.name}",
        f"Phone: {phone}",
        f"Call: {call}",
    ]
    if request.email:
        text_lines.append(f"{EMAIL_LABEL}: {request.email}")
    text_lines += [
        f"Best time: {best_time}",
    ]
    if interest:
        text_lines.append(f"Interested in: {interest}")
    if message:
        text_lines += ["Message:", message]
    if page_text:
        text_lines.append(f"Page: {page_text}")
    text_lines += [f"Received: {received}", f"Request id: {request.id}", "", CONSENT_NOTE, ""]

    esc = html.escape
    rows = []
    if request.email:
        # Shown as typed: nobody has checked that it is the visitor's, so it is no reason to write.
        rows.append(_html_row(esc(EMAIL_LABEL), _isolated(request.email)))
    rows.append(_html_row("Best time to call", esc(best_time)))
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
        else:
            page += f' <span style="color:#8a2c0d;font-weight:600;">{esc(NOT_OURS)}</span>'
        rows.append(_html_row("Page", page))
    page_html = _html_template().substitute(
        title=esc(subject_line(request)),
        reference=esc(reference(request.id)),
        received=esc(received),
        name=esc(request.name),
        tel_href=esc(call, quote=True),
        phone=esc(phone),
        rows="\n".join(rows),
        request_id=esc(request.id),
        reply_note=esc(CONSENT_NOTE),
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
