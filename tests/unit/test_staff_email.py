"""The staff email's content: what the office reads, and what never reaches a header."""

from __future__ import annotations

import html
import re
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

import pytest

from callbacks import mailer
from callbacks.mailer import (
    BEST_TIME_LABELS,
    INTEREST_LABELS,
    StaffAlert,
    office_time,
    readable_phone,
    render_staff_alert,
)
from callbacks.models.choices import BestTime, Interest
from callbacks.models.form import MESSAGE_MAX, CallbackRequestIn
from callbacks.models.record import ConsentRecord, StoredCallbackRequest, parse_timestamp
from callbacks.settings import Settings

REQUEST_ID = "3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f"
SCRIPT = "<script>alert(1)</script>"
INJECTION = "Hello\r\nBcc: x@evil.example\r\nSubject: free money"
RTL = "שלום, אני רוצה לדבר עם הרופא \u202eevil\u202c"
EMOJI = "Thank you 🙏🏽 — see you soon ✨"


def stored(**fields: Any) -> StoredCallbackRequest:
    """A stored request built the way intake builds it: through the form's own validation."""
    form: dict[str, Any] = {
        "name": "Jane Doe",
        "phone": "(662) 377-6290",
        "consent": True,
        "best_time": "morning",
        "interest": "scars-burns",
        "message": "Please call after lunch.",
        "source_url": "https://www.accentplasticsurgery.example/fractional-co2-laser/",
        **fields,
    }
    valid = CallbackRequestIn.model_validate(form)
    created_at = form.get("created_at", "2026-07-01T15:00:00Z")
    return StoredCallbackRequest(
        id=REQUEST_ID,
        created_at=created_at,
        name=valid.name,
        phone=valid.phone,
        email=valid.email,
        best_time=valid.best_time,
        interest=valid.interest,
        message=valid.message,
        source_url=valid.source_url,
        consent=ConsentRecord(agreed_at=created_at, source_url=valid.source_url),
        expires_at=1_900_000_000,
    )


def render(request: StoredCallbackRequest, **settings: Any) -> StaffAlert:
    return render_staff_alert(request, Settings(**settings))


def visible_text(page: str) -> str:
    """The HTML part as a reader sees it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize(
    ("best_time", "window"),
    [
        ("morning", "call in the morning"),
        ("afternoon", "call in the afternoon"),
        ("evening", "call in the evening"),
        ("anytime", "call any time"),
    ],
)
def test_given_any_request_when_rendered_then_subject_is_reference_and_window_only(
    best_time: str, window: str
) -> None:
    request = stored(best_time=best_time, email="jane.doe@example.com", interest="stretch-marks")

    alert = render(request)

    assert alert.subject == f"Call-back request 3F2A9C1E - {window}"
    for private in ("Jane", "Doe", "662", "377", "6290", "jane.doe", "example.com", "Stretch", "stretch"):
        assert private not in alert.subject


@pytest.mark.parametrize(
    "message",
    [SCRIPT, "<b>bold</b> & <i>co</i>", INJECTION, RTL, EMOJI, "x" * (MESSAGE_MAX - 1) + "<"],
    ids=["script", "markup", "crlf-bcc", "right-to-left", "emoji", "longest"],
)
def test_given_hostile_message_when_rendered_then_html_escapes_it_and_text_keeps_it(message: str) -> None:
    request = stored(message=message)

    alert = render(request)

    assert request.message is not None
    assert request.message in alert.text  # literal (line endings as stored: \n)
    for line in request.message.split("\n"):
        assert html.escape(line) in alert.html
    assert "<script>" not in alert.html
    assert "<b>bold" not in alert.html
    assert alert.subject == "Call-back request 3F2A9C1E - call in the morning"
    assert alert.reply_to is None


def test_given_message_with_line_breaks_when_rendered_then_html_keeps_them_as_br() -> None:
    alert = render(stored(message="first line\nsecond line\r\n\r\nafter a blank line"))

    assert (
        "<bdi>first line</bdi><br><bdi>second line</bdi><br><br><bdi>after a blank line</bdi>" in alert.html
    )
    assert "Message:\nfirst line\nsecond line\n\nafter a blank line" in alert.text


def test_given_right_to_left_override_when_rendered_then_html_confines_it_to_its_own_line() -> None:
    alert = render(stored(message=f"{RTL}\nnext line", source_url="https://x.example/\u202eevil"))

    assert re.search(
        rf'<div dir="auto"[^>]*><bdi>{re.escape(html.escape(RTL))}</bdi><br><bdi>next line</bdi>', alert.html
    )
    assert "<bdi>https://x.example/\u202eevil</bdi>" in alert.html
    assert f"Message:\n{RTL}\nnext line" in alert.text


def test_given_name_with_accents_and_apostrophe_when_rendered_then_shown_escaped_and_literal() -> None:
    alert = render(stored(name="  Zoë  O’Brien-Núñez Jr. "))

    assert "Name: Zoë O'Brien-Núñez Jr." in alert.text
    assert "Zoë O&#x27;Brien-Núñez Jr." in alert.html
    assert "Zoë" not in alert.subject


def test_given_hostile_source_url_when_rendered_then_link_and_text_are_escaped() -> None:
    url = 'https://evil.example/"><script>alert(1)</script>?q=<b>x</b>'
    alert = render(stored(source_url=url))

    assert f"Page: {url}" in alert.text
    assert f'href="{html.escape(url, quote=True)}"' in alert.html
    assert "<script>" not in alert.html
    assert url not in alert.subject


def test_given_stored_source_url_that_is_not_web_when_rendered_then_it_is_text_not_a_link() -> None:
    # Intake accepts only http(s); a stored item is still not trusted to be a link.
    request = stored().model_copy(update={"source_url": "javascript:alert(1)"})

    alert = render(request)

    assert "javascript:alert(1)" in visible_text(alert.html)
    assert 'href="javascript' not in alert.html


def test_given_visitor_email_when_rendered_then_it_is_the_reply_to() -> None:
    alert = render(stored(email="Jane.Doe+skin@Example.COM"))

    assert alert.reply_to == "Jane.Doe+skin@example.com"
    assert "example.com" not in alert.subject


def test_given_no_email_when_rendered_then_there_is_no_reply_to() -> None:
    alert = render(stored(email=""))

    assert alert.reply_to is None
    assert "gave no email address" in alert.html


def test_given_international_email_domain_when_rendered_then_reply_to_uses_its_ascii_form() -> None:
    alert = render(stored(email="jane@bücher.example"))

    assert alert.reply_to == "jane@xn--bcher-kva.example"


def test_given_email_that_cannot_be_a_header_when_rendered_then_body_shows_it_instead() -> None:
    alert = render(stored(email="zoë@example.com"))

    assert alert.reply_to is None
    assert "Email: zoë@example.com" in alert.text
    assert "zoë@example.com" in alert.html


def test_given_details_disabled_when_rendered_then_message_and_interest_are_left_out() -> None:
    request = stored(message="Secret words about my scars", interest="scars-burns")

    alert = render(request, email_include_details=False)

    for part in (alert.text, visible_text(alert.html)):
        assert "Secret words" not in part
        assert INTEREST_LABELS[Interest.SCARS_BURNS] not in part
        assert "Interested in" not in part
        assert "Message" not in part
        assert "Jane Doe" in part
        assert "(662) 377-6290" in part


def test_given_details_enabled_when_rendered_then_everything_staff_need_is_in_both_parts() -> None:
    request = stored(best_time="evening", interest="sun-spots-discoloration", message="About sun spots")

    alert = render(request)

    for part in (alert.text, visible_text(alert.html)):
        assert "Jane Doe" in part
        assert "(662) 377-6290" in part
        assert BEST_TIME_LABELS[BestTime.EVENING] in part
        assert INTEREST_LABELS[Interest.SUN_SPOTS_DISCOLORATION] in part
        assert "About sun spots" in part
        assert "https://www.accentplasticsurgery.example/fractional-co2-laser/" in part
        assert "Wed, Jul 1, 2026 at 10:00 AM CDT" in part
        assert REQUEST_ID in part


@pytest.mark.parametrize(
    ("created_at", "shown"),
    [
        ("2026-07-01T15:00:00Z", "Wed, Jul 1, 2026 at 10:00 AM CDT"),
        ("2026-11-23T19:23:45.123456+00:00", "Mon, Nov 23, 2026 at 1:23 PM CST"),
        ("2026-12-31T23:59:00", "Thu, Dec 31, 2026 at 5:59 PM CST"),
        ("2026-03-08T06:00:00Z", "Sun, Mar 8, 2026 at 12:00 AM CST"),
        ("2026-03-08T08:30:00Z", "Sun, Mar 8, 2026 at 3:30 AM CDT"),
    ],
)
def test_given_utc_creation_time_when_shown_then_it_is_tupelo_time(created_at: str, shown: str) -> None:
    assert office_time(parse_timestamp(created_at)) == shown


def test_given_no_time_zone_database_when_shown_then_time_is_utc_rather_than_no_alert(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(key: str) -> None:
        raise ZoneInfoNotFoundError(key)

    monkeypatch.setattr(mailer, "ZoneInfo", missing)

    assert office_time(parse_timestamp("2026-07-01T15:00:00Z")) == "Wed, Jul 1, 2026 at 3:00 PM UTC"


@pytest.mark.parametrize(
    ("phone", "shown", "href"),
    [
        ("(662) 377-6290", "(662) 377-6290", "tel:+16623776290"),
        ("+1 416 555 0199", "(416) 555-0199", "tel:+14165550199"),
        ("+44 20 7946 0958", "+44 20 7946 0958", "tel:+442079460958"),
    ],
)
def test_given_phone_when_rendered_then_readable_and_a_tel_link(phone: str, shown: str, href: str) -> None:
    alert = render(stored(phone=phone))

    assert f"Phone: {shown}" in alert.text
    assert f"Call: {href}" in alert.text
    assert re.search(
        rf'<a href="{re.escape(href)}"[^>]*>[^<]*{re.escape(html.escape(shown))}</a>', alert.html
    )


def test_given_unparseable_stored_phone_when_formatted_then_shown_as_stored() -> None:
    assert readable_phone("not a number") == "not a number"


def test_given_any_request_when_rendered_then_html_is_one_phone_friendly_column() -> None:
    page = render(stored()).html

    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "max-width:600px" in page
    assert "<table" not in page
    assert "<style" not in page
    assert re.search(r'<a href="tel:[^"]+" style="display:block;[^"]*padding:16px', page)
