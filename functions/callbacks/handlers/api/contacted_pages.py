"""The mark-as-called pages (contacted.py's routes): what a staff member sees after a click.

Loaded on the first click of a process, not at the intake's cold start: nearly every cold start
serves a visitor's post, and staff clicks are rare. The logic is in follow_up.py; these are its
pages.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from html import escape
from importlib import resources
from string import Template
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response

from callbacks.core.office import OFFICE_PHONE, office_time
from callbacks.core.settings import get_settings
from callbacks.logic import follow_up
from callbacks.logic.follow_up import LinkProblem, LinkRefusedError, Marking
from callbacks.models.record import StoredCallbackRequest, parse_timestamp, reference

PAGE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"}
HTML = "text/html; charset=utf-8"

_PROBLEMS: dict[LinkProblem, tuple[int, str, str]] = {
    LinkProblem.MALFORMED: (
        400,
        "This link is incomplete",
        "Part of the link seems to be missing, perhaps cut off when it was copied. Open it again "
        "from the email, or use the link in the latest digest of overdue requests. Nothing was changed.",
    ),
    LinkProblem.FORGED: (
        403,
        "This link is not valid",
        "This link was not made for this request, or it was changed. Open the link from the email "
        "about this request. Nothing was changed.",
    ),
    LinkProblem.EXPIRED: (
        410,
        "This link has expired",
        "Mark-as-called links work for 14 days. If the request is still open, the next digest of "
        "overdue requests carries a fresh link. Nothing was changed.",
    ),
    LinkProblem.UNKNOWN_REQUEST: (
        404,
        "This request is no longer stored",
        "It may have reached the end of its retention period or been erased on the visitor's "
        "request. Nothing was changed.",
    ),
    LinkProblem.UNAVAILABLE: (
        503,
        "Please try again in a minute",
        "We could not reach the list of requests just now. Nothing was changed: reload this page "
        "in a minute.",
    ),
}


def _zone() -> str:
    return get_settings().office_time_zone


@cache
def _template() -> Template:
    text = resources.files("callbacks").joinpath("templates/staff_page.html").read_text(encoding="utf-8")
    return Template(text)


def page(title: str, body_html: str) -> str:
    return _template().substitute(title=escape(title), body=body_html)


def _first_name(request: StoredCallbackRequest) -> str:
    return request.name.split()[0] if request.name.split() else "the visitor"


def _summary(request: StoredCallbackRequest) -> str:
    rows = [
        ("Reference", f'<span class="ref">{escape(reference(request.id))}</span>'),
        ("Name", f'<bdi dir="auto">{escape(_first_name(request))}</bdi>'),
        ("Received", escape(office_time(parse_timestamp(request.created_at), _zone()))),
    ]
    if request.call_by:
        rows.append(("Call by", escape(office_time(request.call_by, _zone()))))
    items = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows)
    return f"<dl>{items}</dl>"


def _answer(status: int, html_page: str) -> Response[str]:
    return Response(status_code=status, content_type=HTML, body=html_page, headers=dict(PAGE_HEADERS))


def _already(marking: Marking) -> Response[str]:
    request = marking.request
    when = office_time(parse_timestamp(marking.contacted_at), _zone()) if marking.contacted_at else "earlier"
    body = (
        f"<h1>Already marked as called</h1>"
        f"<p>Request {escape(reference(request.id))} was marked as called on {escape(when)}. "
        "Nothing else to do.</p>" + _summary(request)
    )
    return _answer(200, page(f"Request {reference(request.id)} already marked as called", body))


def _refused(refused: LinkRefusedError) -> Response[str]:
    status, title, text = _PROBLEMS[refused.problem]
    body = (
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
        f"<p>Questions? Call the office at {escape(OFFICE_PHONE)}.</p>"
    )
    response = _answer(status, page(title, body))
    if refused.problem is LinkProblem.UNAVAILABLE:
        response.headers["Retry-After"] = "60"
    return response


def show(request_id: str, token: str | None) -> Response[str]:
    """``GET``: the request and one button; changes nothing."""
    try:
        marking = follow_up.look_up(request_id, token, get_settings(), datetime.now(UTC))
    except LinkRefusedError as refused:
        return _refused(refused)
    request = marking.request
    if request.status == "contacted":
        return _already(marking)
    action = f"contacted?token={quote(token or '', safe='.')}"
    body = (
        f"<h1>Mark request {escape(reference(request.id))} as called?</h1>"
        f"<p>Press the button once you have spoken to {escape(_first_name(request))}.</p>"
        + _summary(request)
        + f'<form method="post" action="{escape(action, quote=True)}">'
        '<button type="submit">Mark as called</button></form>'
    )
    return _answer(200, page(f"Mark request {reference(request.id)} as called?", body))


def mark(request_id: str, token: str | None) -> Response[str]:
    """``POST``: mark the request called, once."""
    try:
        marking = follow_up.mark_called(request_id, token, get_settings(), datetime.now(UTC))
    except LinkRefusedError as refused:
        return _refused(refused)
    if not marking.marked_now:
        return _already(marking)
    request = marking.request
    when = office_time(parse_timestamp(marking.contacted_at or request.created_at), _zone())
    body = (
        f"<h1>Marked as called</h1>"
        f"<p>Thank you. Request {escape(reference(request.id))} was marked as called on {escape(when)}; "
        "it will not appear in the digest of overdue requests again. You can close this page.</p>"
        + _summary(request)
    )
    return _answer(200, page(f"Request {reference(request.id)} marked as called", body))
