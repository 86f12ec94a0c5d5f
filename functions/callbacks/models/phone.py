"""Phone numbers the office can call: parsed, checked and normalised with the phone library.

A NANP number in a geographic area code newer than the library's data (Tupelo's 471 overlay, in
service since 2026-01-30) is accepted when it is a possible number; premium-rate and shared-cost
numbers are refused with a message; an extension is kept.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import phonenumbers
from pydantic_core import PydanticCustomError

from callbacks.models.fields import (
    FIELD_MESSAGES,
    REQUIRED_MESSAGES,
    as_text,
    has_control_characters,
    problem,
)

# The US with its territories (Puerto Rico, US Virgin Islands, Guam, American Samoa, Northern
# Mariana Islands) and Canada: the numbers written without + that the office calls as domestic.
NANP_REGIONS = frozenset({"US", "PR", "VI", "GU", "AS", "MP", "CA"})
EXTENSION_MAX = 10
# Area codes of the NANP that are not geographic, though their shape says nothing of it: 456
# (inbound international), 5XX personal communications, 710 (US government), 8YY toll-free
# reserves. Easily recognisable codes (N11, N00, 8YY toll-free, 555...) have equal 2nd and 3rd
# digits and are excluded by shape.
_NON_GEOGRAPHIC_AREA_CODES = frozenset(
    (  # noqa: SIM905 - a list of codes reads best as one
        "456 710 822 880 881 882 883 884 885 886 887 889 "
        "521 523 524 525 526 527 528 529 532 535 538 542 543 545 546 547 549 550 552 553 554 556 558 "
        "569 578 589"
    ).split()
)
_REFUSED_NUMBER_TYPES = {
    phonenumbers.PhoneNumberType.PREMIUM_RATE: "premium-rate",
    phonenumbers.PhoneNumberType.SHARED_COST: "shared-cost",
}


PHONE_COST_MESSAGE = (
    "Please enter a number we can call at the normal rate: we cannot call premium-rate or "
    "shared-cost numbers."
)
PHONE_EXTENSION_MESSAGE = f"Please keep the extension to {EXTENSION_MAX} digits or fewer."


def parsed_phone(value: Any) -> phonenumbers.PhoneNumber:
    """The number a visitor typed, if the office can call it; else the problem to show."""
    text = as_text("" if value is None else value, "phone").strip()
    if not text:
        raise problem(REQUIRED_MESSAGES["phone"])
    if len(text) > 40 or has_control_characters(text):
        raise problem(FIELD_MESSAGES["phone"])
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        raise problem(FIELD_MESSAGES["phone"]) from None
    if phonenumbers.is_valid_number(number):
        international = text.startswith(("+", "011"))
        if not international and phonenumbers.region_code_for_number(number) not in NANP_REGIONS:
            raise problem(FIELD_MESSAGES["phone"])
        if phonenumbers.number_type(number) in _REFUSED_NUMBER_TYPES:
            raise problem(PHONE_COST_MESSAGE)
    elif not _in_new_area_code(number):
        raise problem(FIELD_MESSAGES["phone"])
    return number


def _geographic_shape(area_code: str) -> bool:
    """NXX with X not 9 in the middle (reserved), 2nd and 3rd digits apart, not 37X or 96X."""
    return (
        area_code[0] in "23456789"
        and area_code[1] != "9"
        and area_code[1] != area_code[2]
        and area_code[:2] not in ("37", "96")
        and area_code not in _NON_GEOGRAPHIC_AREA_CODES
    )


@cache
def _library_knows_area_code(area_code: str) -> bool:
    # The library's NANP data lists valid exchanges per area code; one valid probe means it knows it.
    return any(
        phonenumbers.is_valid_number(phonenumbers.parse(f"+1{area_code}{exchange}4567", None))
        for exchange in ("234", "345", "456", "567", "678", "789", "890", "923")
    )


def _in_new_area_code(number: phonenumbers.PhoneNumber) -> bool:
    """A NANP number in a geographic area code newer than the library's data (471, Tupelo's overlay,
    in service since 2026-01-30): possible, of a geographic shape, with an NXX exchange."""
    national = str(number.national_number)
    return (
        number.country_code == 1
        and len(national) == 10
        and phonenumbers.is_possible_number(number)
        and _geographic_shape(national[:3])
        and national[3] in "23456789"
        and not _library_knows_area_code(national[:3])
    )


def new_area_code(e164: str) -> str | None:
    """The area code of an accepted number that the phone library does not know yet, to count it."""
    if not e164.startswith("+1") or len(e164) != 12:
        return None
    number = phonenumbers.parse(e164, None)
    return None if phonenumbers.is_valid_number(number) else e164[2:5]


def normalised_phone(value: Any) -> str:
    """The number in E.164 exactly as the intake stores it (the privacy tools find it so);
    a ``ValueError`` with the visitor's message when it is not one the office can call."""
    number = parsed_phone(value)
    if number.extension and len(number.extension) > EXTENSION_MAX:
        raise problem(PHONE_EXTENSION_MESSAGE)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def extension_of(value: Any) -> str | None:
    try:
        return parsed_phone(value).extension or None
    except PydanticCustomError:
        return None
