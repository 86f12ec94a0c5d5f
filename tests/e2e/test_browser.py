"""The website form in a real browser (headless Chromium) against the local stack.

Given the demo page (or a page on a second origin) with the embedded form, when a visitor uses it
with or without JavaScript, then the office gets exactly one email per request and the visitor
gets clear, accessible feedback; and after the email, the office marks it called from the link
and the digest no longer lists it. Set UPDATE_SCREENSHOTS=1 to refresh infra/docs/screenshots/*.png.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest

from callbacks.core import deadline
from callbacks.emails.layout import short_deadline
from callbacks.models.form import CONSENT_TEXT, FIELD_MESSAGES, REQUIRED_MESSAGES
from callbacks.models.record import reference

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = ROOT / "functions" / "callbacks" / "static" / "embed-snippet.html"
SCREENSHOTS = ROOT / "infra" / "docs" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
T = TypeVar("T")
TIMEOUT_MS = 15_000
EMAIL_TIMEOUT_S = 20.0
NO_SECOND_EMAIL_WINDOW_S = 5.0
CONFIRMATION = "Thank you — we received your request."
_numbers = itertools.count(random.SystemRandom().randrange(0, 9000, 10))

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    sync_playwright = None


def _unavailable(reason: str) -> None:
    """In CI a missing browser fails the run; on a laptop it skips with the reason."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{reason} (CI must run the browser tests)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        _unavailable("the playwright package is not installed: make install")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        expect.set_options(timeout=TIMEOUT_MS)
        yield browser
        browser.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: the repository's folder on request, else the test's own folder."""
    return SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path


def _new_page(browser: Browser, **options: Any) -> Page:
    options.setdefault("viewport", {"width": 1280, "height": 900})
    context = browser.new_context(**options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    page = _new_page(browser)
    yield page
    page.context.close()


def unique_phone() -> tuple[str, str]:
    """A valid Tupelo number no other test uses (the API caps requests per number and day)."""
    number = next(_numbers) % 10_000
    return f"(662) 840-{number:04d}", f"+1662840{number:04d}"


def _email_text(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return "\n".join(
        str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"
    )


def subject_reference(path: Path) -> str:
    """The short reference of a staff email's subject (``Call-back request 3F2A9C1E - ...``)."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return str(message["Subject"]).split()[2]


def emails_about(outbox: Path, e164: str) -> list[Path]:
    found = []
    for path in sorted(outbox.glob("*.eml")):
        try:
            if f"tel:{e164}" in _email_text(path):
                found.append(path)
        except (OSError, ValueError):  # still being written: the next poll reads it
            continue
    return found


def until(page: Page, probe: Callable[[], T], within: float) -> T:
    """Polls ``probe`` until it is truthy or ``within`` seconds pass; returns its last value.

    Playwright keeps serving the page between polls (its events, routes), which a sleep would not.
    """
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            return value
        page.wait_for_timeout(100)


def wait_for_emails_about(page: Page, outbox: Path, e164: str, count: int, within: float) -> list[Path]:
    """The emails about the number, once ``count`` have arrived or ``within`` seconds have passed."""

    def enough() -> bool:
        return len(emails_about(outbox, e164)) >= count

    until(page, enough, within)
    return emails_about(outbox, e164)


def fill_form(page: Page, name: str, phone: str, **extra: str) -> None:
    form = page.locator("form.callback-form")
    form.get_by_label("Your name").fill(name)
    form.get_by_label("Phone number").fill(phone)
    if "email" in extra:
        form.get_by_label("Email").fill(extra["email"])
    if "best_time" in extra:
        form.get_by_role("radio", name=extra["best_time"]).check()
    if "interest" in extra:
        form.get_by_role("radio", name=extra["interest"]).check()
    if "message" in extra:
        form.get_by_label("Message").fill(extra["message"])
    form.get_by_role("checkbox", name=CONSENT_TEXT).check()


def posts_of(page: Page) -> list[str]:
    """The URLs of the call-back requests the page posts, collected as they are sent."""
    sent: list[str] = []
    page.on(
        "request",
        lambda request: (
            sent.append(request.url)
            if request.method == "POST" and request.url.endswith("/callback-requests")
            else None
        ),
    )
    return sent


def expect_field_error(page: Page, label: str, message: str) -> None:
    control = page.locator("form.callback-form").get_by_label(label)
    expect(control).to_have_attribute("aria-invalid", "true")
    described = (control.get_attribute("aria-describedby") or "").split()
    assert described, f"{label} has no aria-describedby"
    expect(page.locator(f"[id='{described[0]}']")).to_have_text(message)
    description = control.evaluate(
        "el => el.getAttribute('aria-describedby').split(' ')"
        ".map(id => document.getElementById(id).textContent).join(' ')"
    )
    assert message in description


LAYOUT_SHIFT = """() => new Promise((resolve) => {
  let total = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if (!entry.hadRecentInput) total += entry.value;
  }).observe({ type: "layout-shift", buffered: true });
  requestAnimationFrame(() => requestAnimationFrame(() => resolve(total)));
})"""


class _EmbeddingPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = self.server.page  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def embedding_page(stack: Any) -> Iterator[str]:
    """A page on the stack's second origin (another port) with the snippet pasted in, as on the site."""
    # As the practice pastes it: the API's base URL, and the path of the page the form is on.
    snippet = (
        SNIPPET.read_text(encoding="utf-8")
        .replace("{{API_BASE}}", stack.api_base)
        .replace("{{FORM_PAGE}}", "/laser-resurfacing")
    )
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>The practice's own page</title></head><body><main><h1>Laser resurfacing</h1>"
        f"{snippet}</main></body></html>"
    )
    server = ThreadingHTTPServer(("127.0.0.1", stack.embed_port), _EmbeddingPage)
    server.page = page.encode()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stack.embed_origin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def embedding_site(local_stack: Any) -> Iterator[str]:
    with embedding_page(local_stack) as origin:
        yield origin


def test_javascript_submission_is_confirmed_in_the_live_region_and_emailed_once(
    page: Page, local_stack: Any, shots: Path
) -> None:
    # Given the demo page with the form
    page.goto(f"{local_stack.api_base}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.wait_for_load_state("load")
    assert page.evaluate(LAYOUT_SHIFT) == 0  # the script enhances the form without moving it
    page.screenshot(path=str(shots / "form.png"), full_page=True)
    phone, e164 = unique_phone()
    fill_form(
        page,
        "Ana María O’Neil-Smith",
        phone,
        email="ana@example.com",
        best_time="Morning (8 am - noon)",
        interest="Sun spots and discoloration",
        message="I have sun spots on my cheeks.\nMornings are best.",
    )
    posts = posts_of(page)
    held = []
    # Playwright cannot wrap a bound builtin (list.append) as a handler: hence the lambda.
    page.route("**/callback-requests", lambda route: held.append(route))  # noqa: PLW0108

    # When the visitor sends it
    button = page.get_by_role("button", name="Request a call back")
    button.click()

    # Then the button is disabled and says so while the request is on its way
    sending = page.get_by_role("button", name="Sending…")
    expect(sending).to_be_disabled()
    until(page, lambda: held, within=TIMEOUT_MS / 1000)
    assert len(held) == 1
    headers = held[0].request.headers
    assert headers["accept"] == "application/json"
    key = headers["idempotency-key"]
    assert key
    assert key in (held[0].request.post_data or "")  # the same key in the idempotency_key field
    held[0].continue_()

    # And the form is replaced by a confirmation, announced in the live region and focused
    status = page.get_by_role("status")
    expect(status).to_contain_text(CONFIRMATION)
    expect(status).to_contain_text("Our office in Tupelo will call you back")
    expect(status).to_contain_text("in the morning")
    expect(status).to_contain_text("We will call you by ")  # the API's call_by_text
    expect(status).to_be_focused()
    expect(page.get_by_label("Your name")).to_have_count(0)
    assert posts == [f"{local_stack.api_base}/callback-requests"]

    # And exactly one email reaches the office
    found = wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)
    assert len(found) == 1
    text = _email_text(found[0])
    assert "Ana María O’Neil-Smith" in text or "Ana María O'Neil-Smith" in text
    assert f"{local_stack.api_base}/" in text  # the page the form was on (source_url)
    # And the confirmation gives the visitor the reference of the office's email
    expect(status).to_contain_text(f"Your reference is {subject_reference(found[0])}.")


def test_browser_check_shows_errors_next_to_fields_announces_them_and_focuses_the_first(
    page: Page, local_stack: Any, shots: Path
) -> None:
    # Given the demo page
    page.goto(f"{local_stack.api_base}/")
    posts = posts_of(page)

    # When the visitor sends the form empty
    page.get_by_role("button", name="Request a call back").click()

    # Then each required field says what is missing, the summary is announced, name has focus
    expect_field_error(page, "Your name", REQUIRED_MESSAGES["name"])
    expect_field_error(page, "Phone number", REQUIRED_MESSAGES["phone"])
    expect_field_error(page, CONSENT_TEXT, REQUIRED_MESSAGES["consent"])
    expect(page.get_by_label("Email")).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("status")).to_have_text("Please correct 3 fields: Name, Phone, Consent.")
    expect(page.get_by_label("Your name")).to_be_focused()
    # The phone's hint stays described after its error.
    phone_described = page.get_by_label("Phone number").get_attribute("aria-describedby") or ""
    assert phone_described.split()[1:] == ["callback-phone-hint"]

    # When the values are there but wrong
    page.get_by_label("Your name").fill("R2-D2")
    page.get_by_label("Phone number").fill("662-377")
    page.get_by_label("Email").fill("ana@")
    page.get_by_role("checkbox", name=CONSENT_TEXT).check()
    page.get_by_role("button", name="Request a call back").click()

    # Then the messages say what is wrong, in the API's own words, and nothing was sent
    expect_field_error(page, "Your name", FIELD_MESSAGES["name"])
    expect_field_error(page, "Phone number", FIELD_MESSAGES["phone"])
    expect_field_error(page, "Email", FIELD_MESSAGES["email"])
    expect(page.get_by_role("checkbox", name=CONSENT_TEXT)).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("status")).to_have_text("Please correct 3 fields: Name, Phone, Email.")
    expect(page.get_by_label("Your name")).to_be_focused()
    page.locator("form.callback-form").screenshot(path=str(shots / "form-errors.png"))
    assert posts == []

    # And a corrected field loses its error as soon as it is right
    page.get_by_label("Your name").fill("Ana Smith")
    expect(page.get_by_label("Your name")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator(".callback-form__error")).to_have_count(2)


def test_server_side_field_errors_are_shown_next_to_the_fields(page: Page, local_stack: Any) -> None:
    # Given a number of the right shape whose area code only the API knows is none (555)
    page.goto(f"{local_stack.api_base}/")
    fill_form(page, "Ana Smith", "555-234-5678")
    posts = posts_of(page)

    # When the visitor sends it
    with page.expect_response("**/callback-requests") as answer:
        page.get_by_role("button", name="Request a call back").click()

    # Then the API refuses it and its message appears next to the phone field, which gets focus
    assert answer.value.status == 422
    expect_field_error(page, "Phone number", FIELD_MESSAGES["phone"])
    expect(page.get_by_role("status")).to_have_text("Please correct 1 field: Phone.")
    expect(page.get_by_label("Phone number")).to_be_focused()
    expect(page.get_by_role("button", name="Request a call back")).to_be_enabled()
    assert len(posts) == 1

    # And once corrected, the same rendered form sends successfully
    phone, e164 = unique_phone()
    page.get_by_label("Phone number").fill(phone)
    page.get_by_role("button", name="Request a call back").click()
    expect(page.get_by_role("status")).to_contain_text(CONFIRMATION)
    assert len(wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)) == 1


def test_without_javascript_the_plain_form_post_lands_on_the_thank_you_page(
    browser: Browser, local_stack: Any, shots: Path
) -> None:
    page = _new_page(browser, java_script_enabled=False)
    try:
        # Given the demo page without JavaScript
        page.goto(f"{local_stack.api_base}/")

        # When the visitor sends it empty, the browser's own validation stops it
        page.get_by_role("button", name="Request a call back").click()
        assert page.get_by_label("Your name").evaluate("el => el.validity.valueMissing")
        assert page.url == f"{local_stack.api_base}/"

        # When the visitor fills it in and sends it
        phone, e164 = unique_phone()
        fill_form(page, "Jean-Luc Picard", phone, best_time="Evening (5 pm - 7 pm)")
        with page.expect_navigation():
            page.get_by_role("button", name="Request a call back").click()

        # Then the browser follows the 303 to the thank-you page, and the office gets one email
        page.wait_for_url(re.compile(rf"{re.escape(local_stack.api_base)}/thank-you\?ref=[A-Z0-9]+$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you — we received your request")
        page.screenshot(path=str(shots / "thank-you.png"), full_page=True)
        found = wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)
        assert len(found) == 1
        # And the page, without any script, shows the reference of the office's email
        expect(page.get_by_text("Your reference is")).to_have_text(
            f"Your reference is {subject_reference(found[0])}. Please mention it if you call us."
        )

        # And a number the API refuses gets its accessible error page, with a way back
        page.goto(f"{local_stack.api_base}/")
        fill_form(page, "Jean-Luc Picard", "123-456-7890")
        with page.expect_navigation():
            page.get_by_role("button", name="Request a call back").click()
        expect(page.get_by_text(FIELD_MESSAGES["phone"])).to_be_visible()
    finally:
        page.context.close()


def test_the_script_sends_only_the_pages_origin_and_path(page: Page, local_stack: Any) -> None:
    # Given the demo page reached from an ad, its address full of click ids and an email address
    page.goto(f"{local_stack.api_base}/?gclid=EAIaIQ&utm_source=fb&fbclid=IwAR&email=ana%40example.com#form")
    phone, e164 = unique_phone()
    fill_form(page, "Ana Smith", phone)

    # When the visitor sends the form
    with page.expect_request("**/callback-requests") as sent:
        page.get_by_role("button", name="Request a call back").click()

    # Then the request names the page by origin and path only, and so does the office's email
    body = sent.value.post_data or ""
    assert f'name="source_url"\r\n\r\n{local_stack.api_base}/\r\n' in body
    assert "gclid" not in body
    assert "ana%40example.com" not in body
    expect(page.get_by_role("status")).to_contain_text(CONFIRMATION)
    (found,) = wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)
    text = _email_text(found)
    assert f"Page: {local_stack.api_base}/\r\n" in text
    assert "gclid" not in text


def test_a_double_click_sends_one_request_and_one_email(page: Page, local_stack: Any) -> None:
    # Given a filled form
    page.goto(f"{local_stack.api_base}/")
    phone, e164 = unique_phone()
    fill_form(page, "Ana Smith", phone)
    posts = posts_of(page)

    # When the visitor double-clicks the button
    page.get_by_role("button", name="Request a call back").dblclick()

    # Then one request is sent, confirmed once, and exactly one email arrives
    expect(page.get_by_role("status")).to_contain_text(CONFIRMATION)
    assert len(wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)) == 1
    late = wait_for_emails_about(page, local_stack.outbox, e164, 2, NO_SECOND_EMAIL_WINDOW_S)
    assert len(late) == 1, "a second email arrived for one double click"
    assert len(posts) == 1


def test_a_failed_send_offers_the_phone_and_the_retry_reuses_the_key(page: Page, local_stack: Any) -> None:
    # Given a filled form, and a network that drops the first request
    page.goto(f"{local_stack.api_base}/")
    phone, e164 = unique_phone()
    fill_form(page, "Ana Smith", phone)
    keys: list[str | None] = []
    page.on(
        "request",
        lambda request: (
            keys.append(request.headers.get("idempotency-key")) if request.method == "POST" else None
        ),
    )
    button = page.get_by_role("button", name="Request a call back")
    status = page.get_by_role("status")
    page.route("**/callback-requests", lambda route: route.abort("internetdisconnected"))

    # When the visitor sends it
    button.click()

    # Then a friendly message offers the office phone, and the button works again
    expect(status).to_contain_text("We could not send your request just now")
    expect(status.get_by_role("link", name="662-377-6290")).to_have_attribute("href", "tel:+16623776290")
    expect(button).to_be_enabled()

    # When the API is unavailable on the retry (503 with Retry-After), the same happens
    page.unroute("**/callback-requests")
    page.route(
        "**/callback-requests",
        lambda route: route.fulfill(
            status=503,
            headers={"Retry-After": "5"},
            json={"error": "unavailable", "message": "Please try again shortly.", "errors": []},
        ),
    )
    with page.expect_response("**/callback-requests") as answer:
        button.click()
    assert answer.value.status == 503
    expect(status).to_have_text(
        "We could not send your request just now. Please try again in a minute, or call us at 662-377-6290."
    )
    expect(button).to_be_enabled()

    # When the retry gets through, it is confirmed; every attempt carried the same key
    page.unroute("**/callback-requests")
    button.click()
    expect(status).to_contain_text(CONFIRMATION)
    assert len(keys) == 3
    assert len(set(keys)) == 1
    assert len(wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)) == 1


def test_the_form_pasted_on_another_origin_submits_across_origins(
    page: Page, local_stack: Any, embedding_site: str
) -> None:
    # Given the practice's own page on another origin, with the snippet pasted in
    page.goto(f"{embedding_site}/laser-resurfacing")
    phone, e164 = unique_phone()
    fill_form(page, "Ana Smith", phone, interest="Stretch marks")

    # When the visitor sends it (a CORS preflight, because of the Idempotency-Key header)
    with page.expect_response(
        lambda r: r.url.endswith("/callback-requests") and r.request.method == "POST"
    ) as answer:
        page.get_by_role("button", name="Request a call back").click()

    # Then the API accepts it for that origin, the visitor sees the confirmation, the office the email
    assert answer.value.status == 201
    assert answer.value.headers["access-control-allow-origin"] == embedding_site
    expect(page.get_by_role("status")).to_contain_text(CONFIRMATION)
    found = wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)
    assert len(found) == 1
    assert f"{embedding_site}/laser-resurfacing" in _email_text(found[0])


def test_without_javascript_on_another_origin_the_error_page_leads_back_to_the_form_page(
    browser: Browser, local_stack: Any, embedding_site: str
) -> None:
    page = _new_page(browser, java_script_enabled=False)
    try:
        # Given the practice's own page on another origin, in a browser without JavaScript
        page.goto(f"{embedding_site}/laser-resurfacing")
        fill_form(page, "Ana Smith", "123-456-7890")
        referers: list[str | None] = []
        page.on(
            "request",
            lambda request: (
                referers.append(request.headers.get("referer")) if request.method == "POST" else None
            ),
        )

        # When the form posts a number the API refuses
        with page.expect_navigation():
            page.get_by_role("button", name="Request a call back").click()

        # Then the API's own error page lists the problem (the browser sent only the origin)
        assert referers == [f"{embedding_site}/"]
        expect(page.get_by_role("heading", level=1)).to_have_text("Please check your call-back request")
        expect(page.get_by_text(FIELD_MESSAGES["phone"])).to_be_visible()

        # And its link leads back to the page the form was on, not to the site's home page
        back = page.get_by_role("link", name="Go back to the form")
        expect(back).to_have_attribute("href", f"{embedding_site}/laser-resurfacing")
        with page.expect_navigation():
            back.click()
        assert page.url == f"{embedding_site}/laser-resurfacing"
        expect(page.get_by_label("Phone number")).to_be_visible()
    finally:
        page.context.close()


def test_keyboard_only_use_with_visible_focus(page: Page, local_stack: Any) -> None:
    # Given the demo page, used with the keyboard alone
    page.goto(f"{local_stack.api_base}/")
    phone, e164 = unique_phone()
    page.get_by_label("Your name").focus()
    page.keyboard.type("Ana Smith")
    visited = []
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const el = document.activeElement;"
            " return [el.name || el.tagName, getComputedStyle(el).outlineStyle]; }"
        )
        visited.append(focused[0])
        # Then every stop shows where the focus is, and the hidden honeypot is never a stop
        assert focused[1] != "none", f"no visible focus on {focused[0]}"
        if focused[0] == "phone":
            page.keyboard.type(phone)
        elif focused[0] == "consent":
            page.keyboard.press("Space")
        elif focused[0] == "BUTTON":
            break
    assert "website" not in visited
    # And the honeypot is neither in the accessibility tree nor on screen
    expect(page.get_by_role("textbox", name="Leave this field empty")).to_have_count(0)
    box = page.locator("input[name=website]").bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 0
    assert visited[:2] == ["phone", "email"]
    assert visited[-1] == "BUTTON"

    # When the visitor presses Enter on the button
    page.keyboard.press("Enter")

    # Then the request is confirmed
    expect(page.get_by_role("status")).to_contain_text(CONFIRMATION)
    assert len(wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)) == 1


@pytest.mark.parametrize(("width", "height"), [(390, 844), (360, 740)])
def test_on_a_phone_there_is_no_horizontal_scroll_and_the_form_submits(
    browser: Browser, local_stack: Any, shots: Path, width: int, height: int
) -> None:
    page = _new_page(
        browser,
        viewport={"width": width, "height": height},
        is_mobile=True,
        has_touch=True,
        reduced_motion="reduce",
    )
    try:
        # Given the demo page on a phone
        page.goto(f"{local_stack.api_base}/")
        no_scroll = "() => document.documentElement.scrollWidth <= window.innerWidth"
        assert page.evaluate(no_scroll)
        page.wait_for_load_state("load")
        assert page.evaluate(LAYOUT_SHIFT) == 0

        # When the visitor fills in the form and taps the button
        phone, e164 = unique_phone()
        fill_form(page, "Ana Smith", phone, best_time="Afternoon (noon - 5 pm)")
        page.locator("form.callback-form").evaluate("form => form.scrollIntoView({block: 'start'})")
        if width == 390:
            page.screenshot(path=str(shots / "form-phone.png"))
        page.get_by_role("button", name="Request a call back").tap()

        # Then it is confirmed, still without horizontal scroll, and emailed
        expect(page.get_by_role("status")).to_contain_text(CONFIRMATION)
        assert page.evaluate(no_scroll)
        assert len(wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)) == 1
    finally:
        page.context.close()


@pytest.fixture(scope="module")
def throttled_stack(start_stack: Callable[..., AbstractContextManager[Any]]) -> Iterator[Any]:
    # One request per method, then (almost) no refill: the next post is throttled, the script still loads.
    with start_stack("--throttle-burst", "1", "--throttle-rate", "0.001") as stack:
        yield stack


def test_a_throttled_post_from_the_practices_page_is_read_and_the_visitor_is_told_to_call(
    page: Page, throttled_stack: Any
) -> None:
    # Given the practice's page on another origin, and the API's post allowance already spent
    with embedding_page(throttled_stack) as origin:
        spent = throttled_stack.request(
            "POST",
            "/callback-requests",
            '{"name": "Ana Smith", "phone": "(662) 840-0001", "consent": true}',
            {"Content-Type": "application/json"},
        )
        assert spent.status == 201
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        page.goto(f"{origin}/laser-resurfacing")
        phone, _ = unique_phone()
        fill_form(page, "Ana Smith", phone)

        # When the visitor sends the form
        with page.expect_response(
            lambda r: r.url.endswith("/callback-requests") and r.request.method == "POST"
        ) as answer:
            page.get_by_role("button", name="Request a call back").click()

        # Then API Gateway's throttled answer reaches the page readable (its CORS headers name it) ...
        assert answer.value.status == 429
        assert answer.value.headers["access-control-allow-origin"] == origin
        assert answer.value.headers["vary"] == "Origin"
        status = page.get_by_role("status")
        expect(status).to_have_text(
            "We could not send your request just now. "
            "Please try again in a minute, or call us at 662-377-6290."
        )
        expect(status.get_by_role("link", name="662-377-6290")).to_have_attribute("href", "tel:+16623776290")
        expect(page.get_by_role("button", name="Request a call back")).to_be_enabled()
        # ... where a blocked answer would have been a CORS error and an unreadable body.
        assert not [text for text in console if "CORS" in text], console
        read = page.evaluate(
            """async (url) => {
                const response = await fetch(url, {method: "POST", body: "{}"});
                return [response.status, await response.json()];
            }""",
            f"{throttled_stack.api_base}/callback-requests",
        )
        assert read[0] == 429
        assert read[1]["error"] == "too_many_requests"
        assert "662-377-6290" in read[1]["message"]


# --- after the email: the call-back deadline, mark as called, the digest (the whole loop) --------
# Given a visitor who sends the form, when the office opens the mark-as-called link of the email
# (an .eml in the outbox) and presses the page's button, then the request is marked called and the
# next digest of overdue requests (run on demand, as `make digest` does) no longer lists it. Every
# page and email on the way passes axe-core (WCAG 2.2 A/AA).

AXE = ROOT / ".local" / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
PHONE = {"width": 390, "height": 844}


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
    day = datetime.fromisoformat(call_by).date() + timedelta(days=1)
    while not deadline.is_office_day(day, calendar):
        day += timedelta(days=1)
    return datetime.combine(day, clock_time(13, 0), tzinfo=calendar.zone).astimezone(UTC).isoformat()


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
    assert datetime.fromisoformat(receipt["call_by"]).hour == 12
    ref = reference(receipt["id"])

    # And the office's email shows the deadline, and carries the link in both parts
    [path] = until(page, lambda: emails_about(local_stack.outbox, e164), within=EMAIL_TIMEOUT_S)
    alert = parsed(path)
    assert alert["Subject"].endswith(
        f"by {short_deadline(datetime.fromisoformat(receipt['call_by']), 'America/Chicago')}"
    )
    text = part(alert, "plain")
    link = mark_called_link(text)
    assert link.startswith(f"{local_stack.api_base}/callback-requests/{receipt['id']}/contacted?token=")
    html = part(alert, "html")
    assert "Mark as called" in html
    page.set_content(html)
    assert_accessible(page, "the staff email")

    # When the digest runs after the deadline has passed, it lists the request
    digest_at = digest_time_after(receipt["call_by"])
    digests = list(map(parsed, run_digest(local_stack, digest_at)))
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
    later = list(map(parsed, run_digest(local_stack, digest_at)))
    assert not [message for message in later if ref in part(message, "plain")]
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Already marked as called")
    assert_accessible(page, "the already-marked page")


def run_summary(stack: Any, scheduled_time: str) -> tuple[dict[str, Any], list[Path]]:
    """`make summary` against the stack: the function's answer and the new .eml files it wrote."""
    before = set(stack.emails())
    command = [
        sys.executable,
        *("-m", "infra.local.invoke", "WeeklySummaryFunction"),
        *("--api-port", str(stack.api_port), "--moto-port", stack.moto_url.rsplit(":", 1)[1]),
        *("--outbox", str(stack.outbox), "--event", json.dumps({"scheduled_time": scheduled_time})),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout.rsplit("WeeklySummaryFunction: ", 1)[1])
    return answer, sorted(set(stack.emails()) - before)


def next_monday_730(now: datetime) -> str:
    """The first Monday 7:30 office time after this week: when this week's summary goes out."""
    zone = deadline.OfficeCalendar().zone
    today = now.astimezone(zone).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime.combine(monday, clock_time(7, 30), tzinfo=zone).astimezone(UTC).isoformat()


def test_the_weekly_summary_counts_a_new_request_reads_on_a_phone_and_passes_axe(
    phone_page: Page, local_stack: Any
) -> None:
    page = phone_page
    monday = next_monday_730(datetime.now(UTC))
    counted, _ = run_summary(local_stack, monday)

    # Given a visitor who sends the form this week
    page.goto(f"{local_stack.api_base}/")
    phone, e164 = unique_phone()
    fill_form(page, "Dolores Weekly", phone, best_time="Evening (5 pm - 7 pm)")
    page.get_by_role("button", name="Request a call back").click()
    expect(page.get_by_role("status")).to_contain_text(CONFIRMATION)
    [alert] = until(page, lambda: emails_about(local_stack.outbox, e164), within=EMAIL_TIMEOUT_S)
    ref = subject_reference(alert)

    # When next Monday's summary runs (as `make summary EVENT=...` runs it)
    answer, [path] = run_summary(local_stack, monday)

    # Then it counts one more request, still open, and names it by reference only
    assert answer["received"] == counted["received"] + 1
    assert answer["still_open"] == counted["still_open"] + 1
    summary = parsed(path)
    assert str(summary["Subject"]).startswith("Week of ")
    text = part(summary, "plain")
    lines = text.splitlines()
    still_open = lines[lines.index("Still open") + 1]
    assert ref in still_open or " more" in still_open
    html = part(summary, "html")
    for private in ("Dolores", "Weekly", phone, e164, e164[2:]):
        assert private not in html
        assert private not in text
    page.set_content(html)
    assert_accessible(page, "the weekly summary")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(page.get_by_role("table", name="Requests per day")).to_be_visible()

    # And a week without requests gets the short summary, accessible too
    empty, [quiet] = run_summary(local_stack, "2020-01-06T13:30:00Z")
    assert empty["received"] == 0
    message = parsed(quiet)
    assert str(message["Subject"]) == "Week of Dec 30, 2019 - Jan 5, 2020: no call-back requests"
    page.set_content(part(message, "html"))
    assert_accessible(page, "the empty week's summary")


def test_a_forged_link_gets_a_clear_accessible_page(page: Page, local_stack: Any) -> None:
    answer = page.goto(
        f"{local_stack.api_base}/callback-requests/00000000-0000-4000-8000-000000000000/contacted"
        "?token=1797354387.N2w4U_7o0hG-_15bSxDS9hKe8xrkkKefLbGVjyw8DKU"
    )
    assert answer is not None
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This link is not valid")
    assert_accessible(page, "the invalid-link page")


def test_the_new_email_states_pass_axe_an_unverified_alert_and_a_digest_without_links(
    phone_page: Page,
) -> None:
    from callbacks.core.settings import settings_from_environment
    from callbacks.emails.digest import render_overdue_digest
    from callbacks.emails.staff_alert import render_staff_alert
    from callbacks.models.record import ConsentRecord, OpenRequest, StoredCallbackRequest

    settings = settings_from_environment({"TABLE_NAME": "t", "ALLOWED_ORIGINS": "https://site.example"})
    at = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
    request = StoredCallbackRequest(
        id="3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f",
        created_at="2026-11-23T15:30:00.000Z",
        name="Ruth Ann Patel",
        phone="+16623776290",
        best_time="morning",
        consent=ConsentRecord(agreed_at="2026-11-23T15:30:00.000Z"),
        expires_at=1_900_000_000,
        call_by=at + timedelta(hours=3),
        unverified="no_turnstile_response",
    )
    alert = render_staff_alert(request, settings)
    assert "(unverified)" in alert.subject
    phone_page.set_content(alert.html)
    assert_accessible(phone_page, "the unverified staff email")

    late = [OpenRequest(request.id, at, request.best_time, at + timedelta(hours=3))]
    digest = render_overdue_digest(late, {request.id: None}, at + timedelta(days=1), "America/Chicago")
    assert "contacted?token=" not in digest.html
    phone_page.set_content(digest.html)
    assert_accessible(phone_page, "the digest without links")
