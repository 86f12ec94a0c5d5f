"""The staff alert: one email about one stored request, rendered for a phone. Render only.

Headers carry only what the deployment configured and what the server made: the subject is a
reference cut from the request id and the call-back window; ``Reply-To`` is the validated email.
Every visitor value goes into the body only, escaped in the HTML part and literal in the text part.
Every time is in the office's time zone, with its abbreviation.
"""

from __future__ import annotations

import html
import re

import phonenumbers

from callbacks.core.office import office_time
from callbacks.core.settings import Settings
from callbacks.emails.layout import (
    BEST_TIME_LABELS,
    INTEREST_LABELS,
    INTEREST_NOT_SPECIFIED,
    NOT_OURS,
    long_deadline,
    practice_page_link,
    short_deadline,
    template,
)
from callbacks.models.choices import BestTime
from callbacks.models.email import StaffAlert
from callbacks.models.record import StoredCallbackRequest, parse_timestamp, reference

_WINDOWS = {
    BestTime.MORNING: "call in the morning",
    BestTime.AFTERNOON: "call in the afternoon",
    BestTime.EVENING: "call in the evening",
    BestTime.ANYTIME: "call any time",
}
# Why the robot check (Cloudflare Turnstile, when the deployment has it on) did not vouch for a request.
UNVERIFIED_NOTES = {
    "no_turnstile_response": "sent without the website's robot check (a browser without JavaScript "
    "cannot run it; a bot may leave it out). Likely a person if the details make sense.",
    "turnstile_unavailable": "the website's robot check could not be reached when this was sent.",
}
# An address SES accepts in a header: printable ASCII, no spaces, separators or brackets.
_HEADER_SAFE_ADDRESS = re.compile(r"[!#-'*+\-/-9=?A-Z^-~.]+@[A-Za-z0-9.-]+")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n")
EMAIL_LABEL = "Email (as typed, not verified)"
# What the visitor agreed to, and so all the email invites: a call back at this number.
CONSENT_NOTE = "The visitor agreed to be called back at this number about this request."


def subject_line(request: StoredCallbackRequest, time_zone: str) -> str:
    window = _WINDOWS[request.best_time]
    if request.call_by:
        window = f"{window}, by {short_deadline(request.call_by, time_zone)}"
    unverified = " (unverified)" if request.unverified else ""
    return f"Call-back request {reference(request.id)}{unverified} - {window}"


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


def render_staff_alert(  # noqa: PLR0912, PLR0915 - one branch per optional part, in reading order
    request: StoredCallbackRequest, settings: Settings, mark_called_url: str | None = None
) -> StaffAlert:
    """The email about ``request``; ``settings.email_include_details`` decides on message and interest.

    ``mark_called_url`` is the signed link that marks it called (none when the secret was unreadable).
    """
    phone = phone_for_reading(request)
    call = tel_href(request.phone, request.phone_extension)
    zone = settings.office_time_zone
    received = office_time(parse_timestamp(request.created_at), zone)
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
    if request.unverified:
        text_lines.append(f"Unverified: {UNVERIFIED_NOTES[request.unverified]}")
    if request.call_by:
        text_lines.append(f"Call by: {long_deadline(request.call_by, zone)}")
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
    if request.unverified:
        rows.append(
            _html_row(
                "Unverified",
                f'<strong style="color:#8a2c0d;">{esc(UNVERIFIED_NOTES[request.unverified])}</strong>',
            )
        )
    if request.call_by:
        rows.append(_html_row("Call by", f"<strong>{esc(long_deadline(request.call_by, zone))}</strong>"))
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
    page_html = template("staff_alert.html").substitute(
        title=esc(subject_line(request, zone)),
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
        subject=subject_line(request, zone),
        text="\n".join(text_lines),
        html=page_html,
        reply_to=reply_to,
    )
