"""Every row of the contract's field table, valid and invalid, as a visitor would type it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from callbacks.models.api import field_problems
from callbacks.models.form import CallbackRequestIn
from callbacks.models.phone import PHONE_COST_MESSAGE, new_area_code

BASE: dict[str, Any] = {"name": "Jane Doe", "phone": "(662) 377-6290", "consent": True}


def valid(**fields: Any) -> CallbackRequestIn:
    return CallbackRequestIn.model_validate({**BASE, **fields})


def problems(**fields: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        CallbackRequestIn.model_validate({**BASE, **fields})
    return {problem.field: problem.message for problem in field_problems(caught.value.errors())}


def drop(field: str) -> dict[str, str]:
    data = {key: value for key, value in BASE.items() if key != field}
    with pytest.raises(ValidationError) as caught:
        CallbackRequestIn.model_validate(data)
    return {problem.field: problem.message for problem in field_problems(caught.value.errors())}


# --- name ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Jane Doe", "Jane Doe"),
        ("  Jane   Doe  ", "Jane Doe"),
        ("Mary-Jane O'Neil Jr.", "Mary-Jane O'Neil Jr."),
        ("Seán O’Brien", "Seán O'Brien"),  # a phone's curly apostrophe
        ("Doe, Jane", "Doe, Jane"),
        ("John & Mary Smith", "John & Mary Smith"),
        ("José Álvarez", "José Álvarez"),
        ("Nguyễn Thị Minh", "Nguyễn Thị Minh"),
        ("Дмитрий", "Дмитрий"),
        ("محمد علي", "محمد علي"),
        ("山田 太郎", "山田 太郎"),
        ("अनीता", "अनीता"),
        ("J", "J"),
        ("a" * 100, "a" * 100),
    ],
)
def test_given_a_name_of_letters_of_any_script_then_it_is_accepted(typed: str, stored: str) -> None:
    assert valid(name=typed).name == stored


@pytest.mark.parametrize(
    "typed",
    [
        "R2-D2",
        "Jane <script>",
        "Jane\nDoe",
        "Jane\rDoe",
        "Jane\tDoe",
        "Jane\x00",
        "jane@example.com",
        "😀 Jane",
        "a" * 101,
        ".",  # punctuation alone is not a name
        "-",
        "'",
        ", &",
        "- .",
    ],
)
def test_given_a_name_with_other_characters_or_too_long_then_a_readable_problem(typed: str) -> None:
    message = problems(name=typed)["name"]

    assert message.startswith("Please")


@pytest.mark.parametrize("typed", ["", "   ", None])
def test_given_no_name_then_please_enter_your_name(typed: Any) -> None:
    assert problems(name=typed)["name"] == "Please enter your name."
    assert drop("name")["name"] == "Please enter your name."


def test_given_a_name_of_101_characters_then_the_limit_is_named() -> None:
    assert "100 characters" in problems(name="a" * 101)["name"]


# --- phone --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("(662) 377-6290", "+16623776290"),
        ("662.377.6290", "+16623776290"),
        ("662-377-6290", "+16623776290"),
        ("6623776290", "+16623776290"),
        ("+1 662 377 6290", "+16623776290"),
        ("16623776290", "+16623776290"),
        ("1 (662) 377-6290", "+16623776290"),
        ("  +1-662-377-6290 ", "+16623776290"),
        ("(204) 555-0199", "+12045550199"),  # Canada
        ("+44 20 7946 0958", "+442079460958"),
        ("+33 1 23 45 67 89", "+33123456789"),
        ("+52 55 1234 5678", "+525512345678"),
        ("(787) 722-1234", "+17877221234"),  # Puerto Rico
        ("939-555-1234", "+19395551234"),  # Puerto Rico
        ("340 776 1234", "+13407761234"),  # US Virgin Islands
        ("(671) 472-1234", "+16714721234"),  # Guam
        ("684 633 1234", "+16846331234"),  # American Samoa
        ("670 234 5678", "+16702345678"),  # Northern Mariana Islands
        ("+1 876 234 5678", "+18762345678"),  # Jamaica, written internationally
    ],
)
def test_given_a_phone_in_a_common_notation_then_it_is_stored_in_e164(typed: str, e164: str) -> None:
    request = valid(phone=typed)

    assert request.phone == e164
    assert request.phone_extension is None
    assert new_area_code(request.phone) is None


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("(471) 201-2345", "+14712012345"),  # Tupelo's 471 overlay, in service since 2026-01-30
        ("471.555.0142", "+14715550142"),
        ("471-999-9999", "+14719999999"),
        ("1 471 840 1234", "+14718401234"),
        ("+1 471 840 1234", "+14718401234"),
    ],
)
def test_given_tupelos_new_471_area_code_then_it_is_accepted_and_known_as_new(typed: str, e164: str) -> None:
    # Given a number in an area code newer than the phone library's data
    request = valid(phone=typed)

    # Then it is stored, and the intake can count its area code as unknown to the library
    assert request.phone == e164
    assert new_area_code(request.phone) == "471"


@pytest.mark.parametrize(
    "typed",
    [
        "471-123-4567",  # no exchange starts with 1
        "471-023-4567",
        "555-234-5678",  # 555, like N11 and 800, is not a geographic area code
        "411-234-5678",
        "456-234-5678",  # inbound international
        "535-234-5678",  # personal communications services
        "992-234-5678",  # N9X: reserved for expansion
        "375-234-5678",  # 37X: reserved
        "471-234-567",
        "876 234 5678",  # Jamaica, written as if domestic
    ],
)
def test_given_a_nanp_number_of_no_possible_geographic_shape_then_it_is_refused(typed: str) -> None:
    assert problems(phone=typed)["phone"].startswith("Please enter a 10-digit US phone number")


@pytest.mark.parametrize(
    "typed",
    [
        "900-555-1234",  # US premium rate
        "+1 900 234 5678",
        "+44 871 234 5678",  # UK premium rate
        "+44 909 879 0123",
        "+33 8 10 12 34 56",  # France shared cost
        "+49 180 1234567",  # Germany shared cost
    ],
)
def test_given_a_premium_rate_or_shared_cost_number_then_it_is_refused_with_why(typed: str) -> None:
    assert problems(phone=typed)["phone"] == PHONE_COST_MESSAGE


@pytest.mark.parametrize(
    ("typed", "extension"),
    [
        ("(662) 377-6290 x12", "12"),
        ("662-377-6290x12", "12"),
        ("662-377-6290 ext. 12", "12"),
        ("662-377-6290 ext 3456", "3456"),
        ("662-377-6290 extension 12", "12"),
        ("662-377-6290 #12", "12"),
        ("662-377-6290,12", "12"),
        ("+44 20 7946 0958 ext. 3", "3"),
        ("471-201-2345 x7", "7"),
    ],
)
def test_given_a_phone_with_an_extension_then_the_extension_is_kept_beside_the_e164(
    typed: str, extension: str
) -> None:
    request = valid(phone=typed)

    assert request.phone.startswith("+")
    assert request.phone[1:].isdigit()
    assert request.phone_extension == extension


@pytest.mark.parametrize(
    "typed",
    [
        "555-1234",  # seven digits: no area code
        "123-456-7890",  # no such area code
        "662 377 629",
        "662377629012",
        "44 20 7946 0958",  # international without +: read as a US number, which it is not
        "+999 1234 5678",
        "call me",
        "662-377-6290\nBcc: x@example.com",
        "+" + "1" * 50,
    ],
)
def test_given_an_invalid_phone_then_please_enter_a_10_digit_number(typed: str) -> None:
    assert problems(phone=typed)["phone"].startswith("Please enter a 10-digit US phone number")


@pytest.mark.parametrize("typed", ["", "  ", None])
def test_given_no_phone_then_please_enter_the_number(typed: Any) -> None:
    assert problems(phone=typed)["phone"] == "Please enter the phone number we should call."
    assert "phone" in drop("phone")


def test_given_a_phone_as_a_json_number_then_a_readable_problem() -> None:
    assert problems(phone=6623776290)["phone"].startswith("Please enter a 10-digit")


# --- email --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("jane@example.com", "jane@example.com"),
        ("  Jane.Doe+laser@Example.COM ", "Jane.Doe+laser@example.com"),
        ("jose@correo.example", "jose@correo.example"),
        ("", None),
        (None, None),
    ],
)
def test_given_a_valid_or_no_email_then_it_is_accepted(typed: Any, stored: str | None) -> None:
    assert valid(email=typed).email == stored


def test_given_an_email_of_254_characters_then_it_is_accepted() -> None:
    address = "a" * 63 + "@" + ".".join(["b" * 60, "c" * 60, "d" * 60, "example"])
    assert len(address) == 254

    assert valid(email=address).email == address


@pytest.mark.parametrize(
    "typed",
    [
        "jane",
        "jane@",
        "@example.com",
        "jane@example",
        "jane doe@example.com",
        "jane@example.com\r\nBcc: x@y.z",
        "a" * 250 + "@example.com",
    ],
)
def test_given_an_invalid_email_then_a_readable_problem(typed: str) -> None:
    assert problems(email=typed)["email"].startswith("Please")


# --- best_time and interest -------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["morning", "afternoon", "evening", "anytime", "Morning "])
def test_given_a_best_time_then_it_is_accepted(typed: str) -> None:
    assert valid(best_time=typed).best_time.value == typed.strip().lower()


@pytest.mark.parametrize("typed", ["", None])
def test_given_no_best_time_then_anytime(typed: Any) -> None:
    assert valid(best_time=typed).best_time.value == "anytime"
    assert valid().best_time.value == "anytime"


def test_given_another_best_time_then_the_choices_are_named() -> None:
    assert (
        problems(best_time="midnight")["best_time"]
        == "Please choose morning, afternoon, evening or any time."
    )


@pytest.mark.parametrize(
    "typed",
    [
        "fractional-co2-laser",
        "wrinkles-fine-lines",
        "sun-spots-discoloration",
        "scars-burns",
        "stretch-marks",
        "other",
        "not-sure",
    ],
)
def test_given_an_interest_then_it_is_accepted(typed: str) -> None:
    interest = valid(interest=typed).interest

    assert interest is not None
    assert interest.value == typed


@pytest.mark.parametrize("typed", ["", None])
def test_given_no_interest_then_none_is_recorded_not_a_treatment_by_default(typed: Any) -> None:
    assert valid().interest is None
    assert valid(interest=typed).interest is None


def test_given_another_interest_then_a_readable_problem() -> None:
    assert problems(interest="botox")["interest"] == "Please choose one of the listed treatments."


# --- message ------------------------------------------------------------------------------------


def test_given_a_message_with_line_breaks_then_they_are_kept_as_newlines() -> None:
    assert valid(message="Line one\r\nLine two\rLine three\n").message == "Line one\nLine two\nLine three"


def test_given_a_message_of_exactly_1000_characters_then_it_is_accepted() -> None:
    assert valid(message="x" * 1000).message == "x" * 1000


def test_given_a_message_of_1000_characters_typed_with_crlf_then_it_counts_as_the_browser_does() -> None:
    assert valid(message="x\r\n" * 500).message == ("x\n" * 500).strip()


def test_given_a_message_over_1000_characters_then_the_limit_is_named() -> None:
    assert "1000 characters" in problems(message="x" * 1001)["message"]


def test_given_a_message_with_control_characters_then_a_readable_problem() -> None:
    assert problems(message="hello\x00\x07")["message"].startswith("Please remove")


@pytest.mark.parametrize("typed", ["", "   ", None])
def test_given_no_message_then_none_is_stored(typed: Any) -> None:
    assert valid(message=typed).message is None


# --- consent ------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", [True, "on", "true", "yes", "1", "ON", "Yes"])
def test_given_consent_as_json_true_or_a_form_value_then_it_is_accepted(typed: Any) -> None:
    assert valid(consent=typed).consent is True


@pytest.mark.parametrize("typed", [False, "off", "false", "no", "0", "", 1, None])
def test_given_consent_not_given_then_please_tick_the_box(typed: Any) -> None:
    assert problems(consent=typed)["consent"].startswith("Please tick the box")


def test_given_consent_missing_then_please_tick_the_box() -> None:
    assert drop("consent")["consent"].startswith("Please tick the box")


# --- source_url ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (
            "https://www.accentplasticsurgery.example/laser/",
            "https://www.accentplasticsurgery.example/laser/",
        ),
        ("http://127.0.0.1:3000/", "http://127.0.0.1:3000/"),
        ("https://x.example", "https://x.example/"),
        # Only the origin and the path are kept: ad-click ids, campaign tags, an address are dropped
        (
            "https://www.accentplasticsurgery.example/laser/?gclid=EAIaIQ&utm_source=fb&fbclid=IwAR#form",
            "https://www.accentplasticsurgery.example/laser/",
        ),
        ("https://x.example/?email=jane%40example.com", "https://x.example/"),
        ("HTTPS://WWW.X.example/Laser/#top", "https://www.x.example/Laser/"),
        ("https://jane:secret@x.example:8443/p?q=1", "https://x.example:8443/p"),
    ],
)
def test_given_an_absolute_http_url_then_only_its_origin_and_path_are_kept(typed: str, kept: str) -> None:
    assert valid(source_url=typed).source_url == kept


def test_given_a_url_of_2048_characters_then_it_is_accepted() -> None:
    url = "https://example.com/" + "a" * (2048 - 20)

    assert valid(source_url=url).source_url == url


@pytest.mark.parametrize(
    "typed",
    [
        "/laser/",
        "javascript:alert(1)",
        "ftp://example.com/",
        "https://",
        "https://example.com/a b",
        "https://example.com:99999/",
        "https://example.com/" + "a" * 2029,
    ],
)
def test_given_a_relative_other_scheme_or_long_url_then_a_problem(typed: str) -> None:
    assert "source_url" in problems(source_url=typed)


# --- honeypot and idempotency key --------------------------------------------------------------


@pytest.mark.parametrize("typed", ["", "  ", None])
def test_given_an_empty_honeypot_then_the_request_is_not_spam(typed: Any) -> None:
    assert not valid(website=typed).is_spam


@pytest.mark.parametrize("typed", ["http://spam.example", "x", 0])
def test_given_a_filled_honeypot_then_spam_whatever_else_was_sent(typed: Any) -> None:
    request = CallbackRequestIn.model_validate({"website": typed, "phone": "garbage"})

    assert request.is_spam


@pytest.mark.parametrize("typed", ["a", "form-3f9c2a7e_01", "A" * 128])
def test_given_a_valid_idempotency_key_then_it_is_kept(typed: str) -> None:
    assert valid(idempotency_key=typed).idempotency_key == typed


@pytest.mark.parametrize("typed", ["has space", "a" * 129, "ключ", "a/b"])
def test_given_an_invalid_idempotency_key_then_a_problem(typed: str) -> None:
    assert "idempotency_key" in problems(idempotency_key=typed)


# --- form values and errors ---------------------------------------------------------------------


def test_given_form_values_as_lists_then_the_first_of_each_is_read() -> None:
    request = CallbackRequestIn.model_validate(
        {"name": ["Jane Doe"], "phone": ["662.377.6290", "000"], "consent": ["on"], "website": [""]}
    )

    assert (request.name, request.phone, request.consent) == ("Jane Doe", "+16623776290", True)


def test_given_several_problems_then_one_message_per_field_in_the_forms_order() -> None:
    found = problems(name="", phone="1", email="x", consent="off")

    assert list(found) == ["name", "phone", "email", "consent"]


def test_given_unknown_fields_then_they_are_ignored() -> None:
    assert valid(form_token="abc", utm_source="news").name == "Jane Doe"
