"""The staff alert: rendered from a stored request, sent through SES v2.

Headers carry only what the deployment configured and what the server made: the subject is a
reference cut from the request id and the call-back window; ``Reply-To`` is the validated email.
Every visitor value goes into the body only, escaped in the HTML part and literal in the text part.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from string import Template
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from botocore.exceptions import BotoCoreError, ClientError, ConnectionError

from callbacks import aws, deadline
from callbacks.models.choices import BestTime, Interest
from callbacks.models.record import StoredCallbackRequest, parse_timestamp, reference
from callbacks.office import SHORT_DAYS, SHORT_MONTHS, office_time
from callbacks.settings import Settings

CHARSET = "UTF-8"
# The SES message tag that names the request an alert is about (bounce and complaint events carry it).
REQUEST_ID_TAG = "request_id"
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
# An address SES accepts in a header: printable ASCII, no spaces, separators or brackets.
_HEADER_SAFE_ADDRESS = re.compile(r"[!#-'*+\-/-9=?A-Z^-~.]+@[A-Za-z0-9.-]+")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
EMAIL_LABEL = "Email (as typed, not verified)"
NOT_OURS = "(not the practice's site)"
# What the visitor agreed to, and so all the email invites: a call back at this number.
CONSENT_NOTE = "The visitor agreed to be called back at this number about this request."


__all__ = [
    "render_overdue_digest",
    "render_staff_alert",
    "send_office_email",
    "send_staff_alert",
]


class StaffAlertNotSentError(Exception):
    """SES did not take the alert. Carries the error code only: SES messages can echo addresses.

    ``maybe_sent`` is True when SES may have taken it all the same (the answer was lost on the way
    back); False when it certainly did not (SES answered with an error, or was never reached).
    """

    def __init__(self, code: str, *, maybe_sent: bool = False) -> None:
        super().__init__(code)
        self.maybe_sent = maybe_sent


@dataclass(frozen=True)
class StaffAlert:
    """One rendered email: what ``send_staff_alert`` hands to SES."""

    request_id: str
    subject: str
    text: str
    html: str
    reply_to: str | None


def short_deadline(call_by: str) -> str:
    """Tue Nov 24, noon: the deadline as the subject line shows it."""
    moment = deadline.parse(call_by)
    day = f"{SHORT_DAYS[moment.weekday()]} {SHORT_MONTHS[moment.month - 1]} {moment.day}"
    return f"{day}, {deadline.clock(moment)}"


def long_deadline(call_by: str) -> str:
    """Tuesday, November 24 at noon."""
    moment = deadline.parse(call_by)
    return f"{deadline.long_date(moment)} at {deadline.clock(moment)}"


def subject_line(request: StoredCallbackRequest) -> str:
    window = _WINDOWS[request.best_time]
    if request.call_by:
        window = f"{window}, by {short_deadline(request.call_by)}"
    return f"Call-back request {reference(request.id)} - {window}"


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


def _mark_called_button(url: str) -> str:
    return (
        '<div style="padding:4px 18px 18px 18px;">'
        f'<a href="{html.escape(url, quote=True)}" style="display:block;border:2px solid #1f4e5f;'
        "color:#1f4e5f;text-decoration:none;text-align:center;font-size:18px;font-weight:700;"
        'padding:12px;border-radius:8px;">Mark as called</a>'
        '<div style="font-size:13px;color:#5b6670;margin-top:6px;text-align:center;">'
        "After the call: opens a page with one button.</div></div>"
    )


def render_staff_alert(  # noqa: PLR0912 - one branch per optional part of the email, in reading order
    request: StoredCallbackRequest, settings: Settings, mark_called_url: str | None = None
) -> StaffAlert:
    """The email about ``request``; ``settings.email_include_details`` decides on message and interest.

    ``mark_called_url`` is the signed link that marks it called (none when the secret was unreadable).
    """
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
    if request.call_by:
        text_lines.append(f"Call by: {long_deadline(request.call_by)}")
    if interest:
        text_lines.append(f"Interested in: {interest}")
    if message:
        text_lines += ["Message:", message]
    if page_text:
        text_lines.append(f"Page: {page_text}")
    text_lines += [f"Received: {received}", f"Request id: {request.id}", ""]
    if mark_called_url:
        text_lines += ["After the call, mark it as called:", mark_called_url, ""]
    text_lines += [CONSENT_NOTE, ""]

    esc = html.escape
    rows = []
    if request.call_by:
        rows.append(_html_row("Call by", f"<strong>{esc(long_deadline(request.call_by))}</strong>"))
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
        mark_called=_mark_called_button(mark_called_url) if mark_called_url else "",
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


@dataclass(frozen=True)
class OverdueRequest:
    """One line of the digest: a reference, the best time, how late. Nothing personal."""

    id: str
    created_at: str
    best_time: str
    call_by: str
    late_by: timedelta


@dataclass(frozen=True)
class OfficeEmail:
    """An email to the office that is about no single visitor (no Reply-To)."""

    subject: str
    text: str
    html: str


def how_late(late_by: timedelta) -> str:
    """45 minutes, 3 hours, 2 days 4 hours late: the digest's words, rounded down."""
    minutes = max(0, int(late_by.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)

    def unit(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "") + " late"
    if hours:
        return unit(hours, "hour") + " late"
    return unit(minutes, "minute") + " late"


@cache
def _digest_template() -> Template:
    return Template((_TEMPLATE.parent / "overdue_digest.html").read_text(encoding="utf-8"))


def render_overdue_digest(late: list[OverdueRequest], links: dict[str, str], now: datetime) -> OfficeEmail:
    """The digest of requests still open past their deadline, oldest first, each with its link."""
    count = len(late)
    noun = "request" if count == 1 else "requests"
    subject = f"{count} call-back {noun} overdue - {office_time(now)}"
    text_lines = [f"{count} call-back {noun} still open past the deadline, oldest first.", ""]
    esc = html.escape
    items = []
    for item in late:
        ref = reference(item.id)
        best = BEST_TIME_LABELS[BestTime(item.best_time)]
        due = long_deadline(item.call_by)
        late_text = how_late(item.late_by)
        received = office_time(parse_timestamp(item.created_at))
        text_lines += [
            f"{ref} - {late_text}",
            f"  Best time: {best}",
            f"  Call by was: {due}",
            f"  Received: {received}",
            f"  Mark as called: {links[item.id]}",
            "",
        ]
        items.append(
            '<li style="border-top:1px solid #e6e9ec;padding:12px 0;list-style:none;">'
            f'<div style="font-size:19px;font-weight:700;"><span style="font-family:Menlo,Consolas,'
            f'monospace;">{esc(ref)}</span> <span style="color:#a3321b;">{esc(late_text)}</span></div>'
            f'<div style="color:#47525c;font-size:15px;">Best time: {esc(best)}<br>Call by was: {esc(due)}'
            f"<br>Received: {esc(received)}</div>"
            f'<a href="{esc(links[item.id], quote=True)}" style="display:inline-block;margin-top:8px;'
            "color:#1f4e5f;font-weight:700;border:2px solid #1f4e5f;border-radius:8px;padding:8px 14px;"
            f'text-decoration:none;">Mark {esc(ref)} as called</a></li>'
        )
    text_lines += ["Each request's own email has the name and number: search your inbox for its reference."]
    page_html = _digest_template().substitute(
        title=esc(subject),
        heading=esc(f"{count} call-back {noun} overdue"),
        when=esc(office_time(now)),
        items="\n".join(items),
    )
    return OfficeEmail(subject=subject, text="\n".join(text_lines), html=page_html)


def send_office_email(message: OfficeEmail, settings: Settings) -> str:
    """Send ``message`` to every office address; the SES message id, or ``StaffAlertNotSentError``."""
    return _send(message.subject, message.text, message.html, None, settings, request_id=None)


def send_staff_alert(alert: StaffAlert, settings: Settings) -> str:
    """Send ``alert`` to every office address; the SES message id, or ``StaffAlertNotSentError``."""
    return _send(alert.subject, alert.text, alert.html, alert.reply_to, settings, request_id=alert.request_id)


def _send(
    subject: str,
    text: str,
    html_body: str,
    reply_to: str | None,
    settings: Settings,
    *,
    request_id: str | None,
) -> str:
    request: dict[str, Any] = {
        "FromEmailAddress": settings.sender_email,
        "Destination": {"ToAddresses": list(settings.office_emails)},
        "Content": {
            "Simple": {
                "Subject": {"Data": subject, "Charset": CHARSET},
                "Body": {
                    "Text": {"Data": text, "Charset": CHARSET},
                    "Html": {"Data": html_body, "Charset": CHARSET},
                },
            }
        },
    }
    if reply_to:
        request["ReplyToAddresses"] = [reply_to]
    if settings.ses_configuration_set:
        request["ConfigurationSetName"] = settings.ses_configuration_set
        # Published with every bounce or complaint event of the configuration set: the request id.
        if request_id:
            request["EmailTags"] = [{"Name": REQUEST_ID_TAG, "Value": _tag_value(request_id)}]
    try:
        answer = aws.sesv2().send_email(**request)
    except ClientError as error:
        # `from None`: the SES message may quote an address, and tracebacks end up in logs.
        raise StaffAlertNotSentError(
            str(error.response.get("Error", {}).get("Code", "ClientError"))
        ) from None
    except ConnectionError as error:
        # Refused or timed out while connecting: the request never reached SES.
        raise StaffAlertNotSentError(type(error).__name__) from None
    except BotoCoreError as error:
        # A read timeout or a dropped answer: SES may have taken the message.
        raise StaffAlertNotSentError(type(error).__name__, maybe_sent=True) from None
    return str(answer["MessageId"])


def _tag_value(request_id: str) -> str:
    # SES tag values: ASCII letters, digits, '_' and '-' only (request ids are UUIDs).
    return "".join(char for char in request_id if char.isascii() and (char.isalnum() or char in "_-"))[:256]


def worst_case_send_seconds() -> float:
    """The longest one send can take (see ``aws._CONFIG``)."""
    return aws.worst_case_seconds("sesv2")
