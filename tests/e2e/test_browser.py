"""The website form in a real browser (headless Chromium) against the local stack.

Given the demo page (or a page on a second origin) with the embedded form, when a visitor uses it
with or without JavaScript, then the office gets exactly one email per request and the visitor
gets clear, accessible feedback. Set UPDATE_SCREENSHOTS=1 to refresh infra/docs/screenshots/*.png.
"""

from __future__ import annotations

import email
import email.policy
import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest

from callbacks.models.form import CONSENT_TEXT, FIELD_MESSAGES, REQUIRED_MESSAGES

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


@pytest.fixture
def embedding_site(local_stack: Any) -> Iterator[str]:
    """A page on a second origin (another port) with the snippet pasted in, as on the practice's site."""
    snippet = SNIPPET.read_text(encoding="utf-8").replace("{{API_BASE}}", local_stack.api_base)
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>The practice's own page</title></head><body><main><h1>Laser resurfacing</h1>"
        f"{snippet}</main></body></html>"
    )
    server = ThreadingHTTPServer(("127.0.0.1", local_stack.embed_port), _EmbeddingPage)
    server.page = page.encode()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield local_stack.embed_origin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


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
    expect(status).to_be_focused()
    expect(page.get_by_label("Your name")).to_have_count(0)
    assert posts == [f"{local_stack.api_base}/callback-requests"]

    # And exactly one email reaches the office
    found = wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)
    assert len(found) == 1
    text = _email_text(found[0])
    assert "Ana María O’Neil-Smith" in text or "Ana María O'Neil-Smith" in text
    assert f"{local_stack.api_base}/" in text  # the page the form was on (source_url)


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
    # Given a number that looks like a phone number but is not a real one (no area code 123)
    page.goto(f"{local_stack.api_base}/")
    fill_form(page, "Ana Smith", "123-456-7890")
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
        page.wait_for_url(f"{local_stack.api_base}/thank-you")
        expect(page.get_by_role("heading", level=1)).to_have_text("Thank you — we received your request")
        page.screenshot(path=str(shots / "thank-you.png"), full_page=True)
        assert len(wait_for_emails_about(page, local_stack.outbox, e164, 1, EMAIL_TIMEOUT_S)) == 1

        # And a number the API refuses gets its accessible error page, with a way back
        page.goto(f"{local_stack.api_base}/")
        fill_form(page, "Jean-Luc Picard", "123-456-7890")
        with page.expect_navigation():
            page.get_by_role("button", name="Request a call back").click()
        expect(page.get_by_text(FIELD_MESSAGES["phone"])).to_be_visible()
    finally:
        page.context.close()


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
