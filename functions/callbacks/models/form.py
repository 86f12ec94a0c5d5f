"""The call-back request as the website's form sends it: the form contract.

Every rule of the HTTP contract's field table lives here, with the words a visitor reads when a
value breaks it. Validators raise ``PydanticCustomError`` so that the message is ours, never a
pydantic type name.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlsplit

import phonenumbers
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from callbacks.models.choices import BestTime, Interest

CONSENT_TEXT = (
    "I agree that Accent Plastic & Reconstructive Surgery may call me back at this number about my request."
)
CONSENT_VERSION = "2026-11-callback-v1"

NAME_MAX = 100
EMAIL_MAX = 254
MESSAGE_MAX = 1000
SOURCE_URL_MAX = 2048
CONSENT_TRUE = frozenset({"on", "true", "yes", "1"})
# One per rendered form: the Idempotency-Key header and the idempotency_key field share it.
IDEMPOTENCY_KEY_REGEX = r"^[A-Za-z0-9_-]{1,128}$"
_IDEMPOTENCY_KEY = re.compile(IDEMPOTENCY_KEY_REGEX)
_NAME_PUNCTUATION = frozenset(" .'-,&")
# Phones type a right single quotation mark for an apostrophe (O’Brien): read it as one.
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'"})
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


# What a visitor reads when a field is missing or of the wrong kind altogether.
REQUIRED_MESSAGES = {
    "name": "Please enter your name.",
    "phone": "Please enter the phone number we should call.",
    "consent": "Please tick the box to let us call you back at this number.",
}
FIELD_MESSAGES = {
    "name": "Please enter your name in letters; spaces, periods, apostrophes, hyphens, commas and & "
    "may go between them.",
    "phone": "Please enter a 10-digit US phone number, like (662) 377-6290, "
    "or an international number starting with +.",
    "email": "Please enter a valid email address, like name@example.com, or leave it empty.",
    "best_time": "Please choose morning, afternoon, evening or any time.",
    "interest": "Please choose one of the listed treatments.",
    "message": f"Please keep your message to {MESSAGE_MAX} characters or fewer.",
    "consent": REQUIRED_MESSAGES["consent"],
    "source_url": "The page address sent with the form is not a valid web address.",
    "website": "This field must be left empty.",
    "idempotency_key": "The form's request key is not valid; please reload the page and try again.",
}


def _problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("field_invalid", message)


def _has_control_characters(value: str, allowed: str = "") -> bool:
    return any(unicodedata.category(char) == "Cc" and char not in allowed for char in value)


def _as_text(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    raise _problem(FIELD_MESSAGES[field])


def _optional_text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    text = _as_text(value, field).strip()
    return text or None


def _parsed_phone(value: Any) -> phonenumbers.PhoneNumber:
    """The number a visitor typed, if the office can call it; else the problem to show."""
    text = _as_text("" if value is None else value, "phone").strip()
    if not text:
        raise _problem(REQUIRED_MESSAGES["phone"])
    if len(text) > 40 or _has_control_characters(text):
        raise _problem(FIELD_MESSAGES["phone"])
    try:
        number = phonenumbers.parse(text, "US")
    except phonenumbers.NumberParseException:
        raise _problem(FIELD_MESSAGES["phone"]) from None
    if phonenumbers.is_valid_number(number):
        international = text.startswith(("+", "011"))
        if not international and phonenumbers.region_code_for_number(number) not in NANP_REGIONS:
            raise _problem(FIELD_MESSAGES["phone"])
        if phonenumbers.number_type(number) in _REFUSED_NUMBER_TYPES:
            raise _problem(PHONE_COST_MESSAGE)
    elif not _in_new_area_code(number):
        raise _problem(FIELD_MESSAGES["phone"])
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


def page_path(value: Any) -> str | None:
    """The path of the page the form is on (``/laser/``), as the page fills it in; else None.

    Never a reason to refuse a request: the visitor cannot see or fix a hidden field.
    """
    if not isinstance(value, str):
        return None
    path = value.strip().split("?", 1)[0].split("#", 1)[0]
    if (
        not path.startswith("/")
        or path.startswith("//")
        or len(path) > SOURCE_URL_MAX
        or "\\" in path
        or any(char.isspace() for char in path)
        or _has_control_characters(path)
    ):
        return None
    return path


def normalised_phone(value: Any) -> str:
    """The number in E.164 exactly as the intake stores it (the privacy tools find it so);
    a ``ValueError`` with the visitor's message when it is not one the office can call."""
    number = _parsed_phone(value)
    if number.extension and len(number.extension) > EXTENSION_MAX:
        raise _problem(PHONE_EXTENSION_MESSAGE)
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def normalised_email(text: str) -> str:
    """The address as the intake stores it; a ``ValueError`` with the visitor's message if invalid."""
    if len(text) > EMAIL_MAX:
        raise _problem(f"Please use an email address of at most {EMAIL_MAX} characters.")
    # The email is optional: a request without one never pays for importing email-validator.
    from email_validator import EmailNotValidError, validate_email

    try:
        return str(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError:
        raise _problem(FIELD_MESSAGES["email"]) from None


def _extension_of(value: Any) -> str | None:
    try:
        return _parsed_phone(value).extension or None
    except PydanticCustomError:
        return None


class CallbackRequestIn(BaseModel):
    """What the website's form posts (JSON, urlencoded or multipart)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    name: Annotated[
        str, Field(description="1-100 characters: at least one letter (any script); spaces and . ' - , &")
    ]
    phone: Annotated[
        str,
        Field(
            description="A US (territories included) or Canadian number in any notation, or "
            "+<country code>...; an extension (x12, ext. 12) is kept; premium-rate and shared-cost "
            "numbers are refused"
        ),
    ]
    email: Annotated[str | None, Field(max_length=EMAIL_MAX)] = None
    best_time: BestTime = BestTime.ANYTIME
    interest: Annotated[
        Interest | None,
        Field(description="optional, no default: a request without one is stored as not specified"),
    ] = None
    message: Annotated[str | None, Field(description=f"at most {MESSAGE_MAX} characters")] = None
    consent: Annotated[bool, Field(description="must be true: JSON true, or on/true/yes/1 in a form")]
    source_url: Annotated[
        str | None,
        Field(
            max_length=SOURCE_URL_MAX,
            description="the absolute http(s) URL of the page the form was on; only its origin and "
            "path are kept (the query and fragment are dropped before storing)",
        ),
    ] = None
    form_page: Annotated[
        str | None,
        Field(
            description="the path of the page the form is on (/laser/), filled in by that page: the "
            "error page of a post without JavaScript links back to it; never refused"
        ),
    ] = None
    website: Annotated[str, Field(description="honeypot: hidden from people, must stay empty")] = ""
    idempotency_key: Annotated[
        str | None, Field(description="1-128 of A-Z a-z 0-9 _ -; or the Idempotency-Key header")
    ] = None
    render_token: Annotated[
        str | None, Field(description="filled by the form script: when the form was served, signed")
    ] = None
    turnstile_response: Annotated[
        str | None,
        Field(alias="cf-turnstile-response", description="Cloudflare Turnstile's answer, when it is on"),
    ] = None
    # The extension typed after the number (x12, ext. 12), kept beside the E.164 number.
    _phone_extension: str | None = PrivateAttr(default=None)

    @model_validator(mode="wrap")
    @classmethod
    def _honeypot_or_fields(
        cls, data: Any, handler: ModelWrapValidatorHandler[CallbackRequestIn]
    ) -> CallbackRequestIn:
        """Flatten form values, drop empty optional choices, and let a filled honeypot through.

        A bot that fills the hidden field must get the same answer as a person, whatever else it
        sent: invalid fields never refuse it, and the route sees ``is_spam``.
        """
        if isinstance(data, dict):
            # Form bodies arrive as {field: [value, ...]}; a field given twice counts once.
            data = {
                key: value[0] if isinstance(value, list) and value else value for key, value in data.items()
            }
            # An untouched <select> may post "" for "no preference": best time's default applies,
            # and no interest is recorded.
            for choice in ("best_time", "interest"):
                if data.get(choice, "") in ("", None):
                    data.pop(choice, None)
            honeypot = data.pop("website", None)
            if honeypot is not None and str(honeypot).strip():
                return cls._caught_by_honeypot(data, str(honeypot), handler)
            request = handler(data)
            request._phone_extension = _extension_of(data.get("phone"))
            return request
        return handler(data)

    @classmethod
    def _caught_by_honeypot(
        cls, data: dict[str, Any], honeypot: str, handler: ModelWrapValidatorHandler[CallbackRequestIn]
    ) -> CallbackRequestIn:
        """The request with the hidden field filled: validated, so a person whose autofill tool
        filled it can be found and kept; a bot's garbage gives an empty request, kept nowhere."""
        try:
            request = handler(data)
        except ValidationError:
            return cls.model_construct(name="", phone="", consent=False, website=honeypot)
        caught = request.model_copy(update={"website": honeypot})
        caught._phone_extension = _extension_of(data.get("phone"))
        return caught

    @property
    def phone_extension(self) -> str | None:
        return self._phone_extension

    @property
    def is_valid_spam(self) -> bool:
        """Caught by the honeypot, yet with fields as valid as a person's: worth keeping briefly."""
        return self.is_spam and bool(self.phone)

    @property
    def is_spam(self) -> bool:
        return bool(self.website)

    @field_validator("name", mode="before")
    @classmethod
    def _valid_name(cls, value: Any) -> str:
        text = _as_text("" if value is None else value, "name").strip()
        if not text:
            raise _problem(REQUIRED_MESSAGES["name"])
        if len(text) > NAME_MAX:
            raise _problem(f"Please shorten your name to {NAME_MAX} characters or fewer.")
        text = unicodedata.normalize("NFC", text.translate(_APOSTROPHES))
        categories = [unicodedata.category(char)[0] for char in text if char not in _NAME_PUNCTUATION]
        # Letters of any script, with their marks; punctuation alone ("." or "-") is not a name.
        if "L" not in categories or any(category not in "LM" for category in categories):
            raise _problem(FIELD_MESSAGES["name"])
        return " ".join(text.split())

    @field_validator("phone", mode="before")
    @classmethod
    def _valid_phone(cls, value: Any) -> str:
        return normalised_phone(value)

    @field_validator("email", mode="before")
    @classmethod
    def _valid_email(cls, value: Any) -> str | None:
        text = _optional_text(value, "email")
        return None if text is None else normalised_email(text)

    @field_validator("best_time", "interest", mode="before")
    @classmethod
    def _choice_in_any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("message", mode="before")
    @classmethod
    def _valid_message(cls, value: Any) -> str | None:
        text = _optional_text(value, "message")
        if text is None:
            return None
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if len(text) > MESSAGE_MAX:
            raise _problem(FIELD_MESSAGES["message"])
        if _has_control_characters(text, allowed="\n\t"):
            raise _problem("Please remove the unusual characters from your message.")
        return text

    @field_validator("consent", mode="before")
    @classmethod
    def _consent_given(cls, value: Any) -> bool:
        if value is True or (isinstance(value, str) and value.strip().lower() in CONSENT_TRUE):
            return True
        raise _problem(REQUIRED_MESSAGES["consent"])

    @field_validator("source_url", mode="before")
    @classmethod
    def _valid_source_url(cls, value: Any) -> str | None:
        text = _optional_text(value, "source_url")
        if text is None:
            return None
        if len(text) > SOURCE_URL_MAX or _has_control_characters(text) or " " in text:
            raise _problem(FIELD_MESSAGES["source_url"])
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise _problem(FIELD_MESSAGES["source_url"]) from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise _problem(FIELD_MESSAGES["source_url"])
        # Only the origin and the path: a query or fragment carries ad-click ids (gclid, fbclid,
        # utm_*) and sometimes an email address, and a user:password@ prefix a secret.
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        origin = f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")
        return origin + (parts.path or "/")

    @field_validator("form_page", mode="before")
    @classmethod
    def _lenient_form_page(cls, value: Any) -> str | None:
        return page_path(value)

    @field_validator("render_token", "turnstile_response", mode="before")
    @classmethod
    def _opaque_token(cls, value: Any) -> str | None:
        # A spam layer judges these: a malformed one is caught there, never told why with a 422.
        if value is None or value == "":
            return None
        return value[:2048] if isinstance(value, str) else "malformed"

    @field_validator("idempotency_key", mode="before")
    @classmethod
    def _valid_idempotency_key(cls, value: Any) -> str | None:
        text = _optional_text(value, "idempotency_key")
        if text is None:
            return None
        if not _IDEMPOTENCY_KEY.match(text):
            raise _problem(FIELD_MESSAGES["idempotency_key"])
        return text
