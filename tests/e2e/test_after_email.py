"""After the email, in a real browser against the local stack: the whole loop.

Given a visitor who sends the form, when the office opens the mark-as-called link of the email
(an .eml in the outbox) and presses the page's button, then the request is marked called and the
next digest of overdue requests (run on demand, as `make digest` does) no longer lists it. Every
page and email on the way passes axe-core (WCAG 2.2 A/AA).
"""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from callbacks import deadline
from callbacks.models.record import reference
from tests.e2e.test_browser import (
    CONFIRMATION,
    EMAIL_TIMEOUT_S,
    ROOT,
    _new_page,
    _unavailable,
    browser,  # noqa: F401 - the browser tests' fixtures, shared
    emails_about,
    fill_form,
    page,  # noqa: F401
    shots,  # noqa: F401
    unique_phone,
    until,
)

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

AXE = ROOT / ".local" / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
PHONE = {"width": 390, "height": 844}

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:  # pragma: no cover - the dev extra installs it
    pass


def assert_accessible(page: Page, what: str) -> None:
    """axe-core's WCAG 2.2 A/AA rules find nothing on the page as it is now."""
    if not AXE.is_file():
        _unavailable(f"{AXE} is missing: make test installs it with npm")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG)
    problems = [
        f"{violation['id']}: {violation['help']} ({[node['target'] for node in violation['nodes']]})"
        for violation in result["violations"]
    ]
    assert problems == [], f"{what} is not accessible: {problems}"


def parsed(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    assert body is not None, f"no text/{subtype} part"
    return str(body.get_content())


def mark_called_link(text: str) -> str:
    lines = text.splitlines()
    return lines[lines.index("After the call, mark it as called:") + 1].strip()


def digest_time_after(call_by: str) -> str:
    """The afternoon digest of the first office day after the deadline's day (ISO, UTC)."""
    calendar = deadline.OfficeCalendar()
    day = deadline.parse(call_by).date() + timedelta(days=1)
    while not deadline.is_office_day(day, calendar):
        day += timedelta(days=1)
    return datetime.combine(day, time(13, 0), tzinfo=calendar.zone).astimezone(UTC).isoformat()


def run_digest(stack: Any, scheduled_time: str) -> list[Path]:
    """`make digest` against the stack: the new .eml files it wrote to the outbox."""
    before = set(stack.emails())
    command = [
        sys.executable,
        *("-m", "infra.local.invoke", "DigestFunction"),
        *("--api-port", str(stack.api_port), "--moto-port", stack.moto_url.rsplit(":", 1)[1]),
        *("--outbox", str(stack.outbox), "--event", json.dumps({"scheduled_time": scheduled_time})),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "DigestFunction: {" in done.stdout
    return sorted(set(stack.emails()) - before)


@pytest.fixture
def phone_page(browser: Browser) -> Any:
    page = _new_page(browser, viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True)
    yield page
    page.context.close()


def test_the_whole_loop_submit_email_link_confirm_and_the_digest_lists_it_no_more(
    phone_page: Page, local_stack: Any, shots: Path
) -> None:
    page = phone_page
    # Given a visitor who asks for a morning call
    page.goto(f"{local_stack.api_base}/")
    phone, e164 = unique_phone()
    fill_form(page, "Ruth Ann Patel", phone, best_time="Morning (8 am - noon)")
    receipts: list[Any] = []
    page.on(
        "response",
        lambda response: (
            receipts.append(response.json())
            if response.request.method == "POST" and response.url.endswith("/callback-requests")
            else None
        ),
    )
    page.get_by_role("button", name="Request a call back").click()

    # Then the confirmation tells her by when, in the API's words
    status = page.get_by_role("status")
    expect(status).to_contain_text(CONFIRMATION)
    until(page, lambda: receipts, within=10)
    [receipt] = receipts
    expect(status).to_contain_text(receipt["call_by_text"])
    assert deadline.parse(receipt["call_by"]).hour == 12
    ref = reference(receipt["id"])

    # And the office's email shows the deadline, and carries the link in both parts
    [path] = until(page, lambda: emails_about(local_stack.outbox, e164), within=EMAIL_TIMEOUT_S)
    alert = parsed(path)
    assert alert["Subject"].endswith(f"by {mailer_short(receipt['call_by'])}")
    text = part(alert, "plain")
    link = mark_called_link(text)
    assert link.startswith(f"{local_stack.api_base}/callback-requests/{receipt['id']}/contacted?token=")
    html = part(alert, "html")
    assert "Mark as called" in html
    page.set_content(html)
    assert_accessible(page, "the staff email")

    # When the digest runs after the deadline has passed, it lists the request
    digest_at = digest_time_after(receipt["call_by"])
    digests = [message for message in map(parsed, run_digest(local_stack, digest_at))]
    [digest] = [message for message in digests if ref in part(message, "plain")]
    assert "overdue" in digest["Subject"]
    page.set_content(part(digest, "html"))
    assert_accessible(page, "the digest email")

    # When the office opens the email's link, a page asks to confirm and nothing changes yet
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Mark request {ref} as called?")
    expect(page.get_by_text("Ruth", exact=False).first).to_be_visible()
    assert "Patel" not in page.content()
    assert_accessible(page, "the confirmation page")
    page.screenshot(path=str(shots / "mark-called-phone.png"), full_page=True)
    page.reload()  # a mail scanner's second look changes nothing either
    expect(page.get_by_role("button", name="Mark as called")).to_be_visible()

    # And pressing the button marks it called
    page.get_by_role("button", name="Mark as called").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Marked as called")
    assert_accessible(page, "the done page")
    page.screenshot(path=str(shots / "marked-called-phone.png"), full_page=True)

    # Then the next digest leaves it out, and a second press says it was already marked
    later = [message for message in map(parsed, run_digest(local_stack, digest_at))]
    assert not [message for message in later if ref in part(message, "plain")]
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Already marked as called")
    assert_accessible(page, "the already-marked page")


def test_a_forged_link_gets_a_clear_accessible_page(page: Page, local_stack: Any) -> None:
    answer = page.goto(
        f"{local_stack.api_base}/callback-requests/00000000-0000-4000-8000-000000000000/contacted"
        "?token=1797354387.N2w4U_7o0hG-_15bSxDS9hKe8xrkkKefLbGVjyw8DKU"
    )
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
    assert_accessible(page, "the invalid-link page")


def mailer_short(call_by: str) -> str:
    from callbacks.mailer import short_deadline

    return short_deadline(call_by)
