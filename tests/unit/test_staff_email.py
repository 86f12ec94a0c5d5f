"""The staff email's content: what the office reads, and what never reaches a header."""

from __future__ import annotations

import html
import re
from typing import Any
from zoneinfo import ZoneInfoNotFoundError

import pytest

from callbacks.core import office
from callbacks.core.office import office_time
from callbacks.emails import digest as digest_email
from callbacks.emails.layout import BEST_TIME_LABELS, INTEREST_LABELS
from callbacks.emails.staff_alert import readable_phone, render_staff_alert
from callbacks.models.choices import BestTime, Interest
from callbacks.models.email import StaffAlert
from callbacks.models.form import MESSAGE_MAX, CallbackRequestIn
from callbacks.models.record import ConsentRecord, StoredCallbackRequest, parse_timestamp
from tests.conftest import deployment_settings

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
        phone_extension=valid.phone_extension,
        email=valid.email,
        best_time=valid.best_time,
        interest=valid.interest,
        message=valid.message,
        source_url=valid.source_url,
        consent=ConsentRecord(agreed_at=created_at, source_url=valid.source_url),
        expires_at=1_900_000_000,
    )


def render(request: StoredCallbackRequest, **settings: Any) -> StaffAlert:
    return render_staff_alert(request, deployment_settings(**settings))


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


def test_given_hostile_source_url_on_an_allowed_origin_when_rendered_then_link_and_text_are_escaped() -> None:
    url = 'https://www.accentplasticsurgery.example/"><script>alert(1)</script>'
    request = stored().model_copy(update={"source_url": url})
    alert = render(request, allowed_origins="https://www.accentplasticsurgery.example")

    assert f"Page: {url}" in alert.text
    assert f'href="{html.escape(url, quote=True)}"' in alert.html
    assert "<script>" not in alert.html
    assert url not in alert.subject


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/laser/",
        "https://www.accentplasticsurgery.example.evil.example/laser/",
        "http://www.accentplasticsurgery.example/laser/",  # another scheme: another origin
        "https://www.accentplasticsurgery.example:8443/laser/",
    ],
)
def test_given_a_page_outside_the_allowed_origins_when_rendered_then_plain_text_marked_not_ours(
    url: str,
) -> None:
    # Given a request whose page address is not on the practice's site (anyone can post one)
    alert = render(stored(source_url=url), allowed_origins="https://www.accentplasticsurgery.example")

    # Then both parts show it as text, marked, and the HTML part never links to it
    assert f"Page: {url} (not the practice's site)" in alert.text
    assert 'href="http' not in alert.html.replace('href="tel:', "")
    assert f"{url} (not the practice's site)" in " ".join(visible_text(alert.html).split())


def test_given_a_page_of_an_allowed_origin_in_another_case_when_rendered_then_a_link() -> None:
    url = "https://WWW.AccentPlasticSurgery.example/laser/"
    request = stored().model_copy(update={"source_url": url})  # as an older record may hold it
    alert = render(request, allowed_origins="https://www.accentplasticsurgery.example")

    assert "not the practice's site" not in alert.text
    assert f'href="{url}"' in alert.html


def test_given_stored_source_url_that_is_not_web_when_rendered_then_it_is_text_not_a_link() -> None:
    # Intake accepts only http(s); a stored item is still not trusted to be a link.
    request = stored().model_copy(update={"source_url": "javascript:alert(1)"})

    alert = render(request)

    assert "javascript:alert(1)" in visible_text(alert.html)
    assert 'href="javascript' not in alert.html


def test_given_visitor_email_when_rendered_then_it_is_the_reply_to_and_in_the_body_as_typed() -> None:
    alert = render(stored(email="Jane.Doe+skin@Example.COM"))

    assert alert.reply_to == "Jane.Doe+skin@example.com"
    assert "example.com" not in alert.subject
    # The office can see, copy and check it, and it survives forwarding: marked as unverified.
    assert "Email (as typed, not verified): Jane.Doe+skin@example.com" in alert.text
    shown = " ".join(visible_text(alert.html).split())
    assert "Email (as typed, not verified) Jane.Doe+skin@example.com" in shown


def test_given_no_email_when_rendered_then_there_is_no_reply_to_and_no_email_line() -> None:
    alert = render(stored(email=""))

    assert alert.reply_to is None
    assert "Email" not in alert.text
    assert "not verified" not in alert.html


@pytest.mark.parametrize("email", ["jane@example.com", ""])
def test_given_any_request_when_rendered_then_nothing_invites_writing_to_the_visitor(email: str) -> None:
    # The visitor agreed to a call back at this number, nothing more.
    alert = render(stored(email=email))

    for text in (alert.text, visible_text(alert.html)):
        assert "Replying to this email" not in text
        assert "writes to the visitor" not in text
        assert "reply" not in text.lower()
        assert "The visitor agreed to be called back at this number about this request." in text


def test_given_international_email_domain_when_rendered_then_reply_to_uses_its_ascii_form() -> None:
    alert = render(stored(email="jane@bücher.example"))

    assert alert.reply_to == "jane@xn--bcher-kva.example"


def test_given_email_that_cannot_be_a_header_when_rendered_then_body_shows_it_instead() -> None:
    alert = render(stored(email="zoë@example.com"))

    assert alert.reply_to is None
    assert "Email (as typed, not verified): zoë@example.com" in alert.text
    assert "zoë@example.com" in alert.html


@pytest.mark.parametrize("interest", [None, ""])
def test_given_no_interest_when_rendered_then_not_specified_and_no_treatment_made_up(interest: Any) -> None:
    # Given a visitor who chose no treatment
    request = stored(interest=interest)
    assert request.interest is None

    # When the office is emailed
    alert = render(request)

    # Then both parts say it was not specified, and name no treatment
    assert "Interested in: Not specified" in alert.text
    assert "Not specified" in visible_text(alert.html)
    for label in INTEREST_LABELS.values():
        assert label not in alert.text
        assert label not in visible_text(alert.html)


def test_given_not_sure_when_rendered_then_not_sure_yet() -> None:
    assert "Interested in: Not sure yet" in render(stored(interest="not-sure")).text


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
    assert office_time(parse_timestamp(created_at), "America/Chicago") == shown


def test_given_no_time_zone_database_when_shown_then_time_is_utc_rather_than_no_alert(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def missing(key: str) -> None:
        raise ZoneInfoNotFoundError(key)

    monkeypatch.setattr(office, "ZoneInfo", missing)

    assert (
        office_time(parse_timestamp("2026-07-01T15:00:00Z"), "America/Chicago")
        == "Wed, Jul 1, 2026 at 3:00 PM UTC"
    )


@pytest.mark.parametrize(
    ("phone", "shown", "href"),
    [
        ("(662) 377-6290", "(662) 377-6290", "tel:+16623776290"),
        ("+1 416 555 0199", "(416) 555-0199", "tel:+14165550199"),
        ("+44 20 7946 0958", "+44 20 7946 0958", "tel:+442079460958"),
        ("(662) 377-6290 ext. 12", "(662) 377-6290 ext. 12", "tel:+16623776290;ext=12"),
        ("471-201-2345 x7", "(471) 201-2345 ext. 7", "tel:+14712012345;ext=7"),
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


# --- the call-back deadline and the mark-as-called link -----------------------------------------

MARK_URL = (
    "https://api.example/v1/callback-requests/3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f/contacted?token=1.a_b"
)


def with_deadline(call_by: str = "2026-11-24T12:00:00-06:00", **fields: Any) -> StoredCallbackRequest:
    return StoredCallbackRequest.model_validate(stored(**fields).model_dump() | {"call_by": call_by})


def test_given_a_deadline_then_the_subject_window_says_by_when_and_nothing_personal() -> None:
    alert = render_staff_alert(with_deadline(), deployment_settings())

    assert alert.subject == "Call-back request 3F2A9C1E - call in the morning, by Tue Nov 24, noon"
    assert "Jane" not in alert.subject


def test_given_a_deadline_then_both_parts_of_the_body_show_it() -> None:
    alert = render_staff_alert(
        with_deadline("2026-11-27T17:00:00-06:00", best_time="anytime"), deployment_settings()
    )

    assert "Call by: Friday, November 27 at 5 pm CST" in alert.text
    assert "Call by" in alert.html
    assert "<strong>Friday, November 27 at 5 pm CST</strong>" in alert.html


def test_given_a_mark_called_link_then_both_parts_carry_it_escaped_in_html() -> None:
    alert = render_staff_alert(with_deadline(), deployment_settings(), mark_called_url=MARK_URL)

    assert MARK_URL in alert.text.splitlines()
    assert f'href="{html.escape(MARK_URL, quote=True)}"' in alert.html
    assert ">Mark as called</a>" in alert.html
    assert "token" not in alert.subject


def test_given_no_link_then_no_button_and_the_alert_still_renders() -> None:
    alert = render_staff_alert(with_deadline(), deployment_settings(), mark_called_url=None)

    assert "Mark as called" not in alert.html
    assert "mark it as called" not in alert.text


@pytest.mark.parametrize(
    ("minutes", "words"),
    [
        (0, "0 minutes late"),
        (1, "1 minute late"),
        (59, "59 minutes late"),
        (60, "1 hour late"),
        (61, "1 hour late"),
        (24 * 60, "1 day late"),
        (25 * 60, "1 day 1 hour late"),
        (3 * 24 * 60 + 20 * 60 + 59, "3 days 20 hours late"),
    ],
)
def test_given_how_late_a_request_is_then_the_digest_says_it_in_words(minutes: int, words: str) -> None:
    from datetime import timedelta

    assert digest_email.how_late(timedelta(minutes=minutes)) == words
