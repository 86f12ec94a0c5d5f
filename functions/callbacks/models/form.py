"""The call-back request as the website's form sends it: the form contract.

Every rule of the HTTP contract's field table lives here, with the words a visitor reads when a
value breaks it. Validators raise ``PydanticCustomError`` so that the message is ours, never a
pydantic type name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
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
_NAME_PUNCTUATION = frozenset(" .'-")
# Phones type a right single quotation mark for an apostrophe (O’Brien): read it as one.
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'"})
_NANP_REGIONS = frozenset({"US", "CA"})


# What a visitor reads when a field is missing or of the wrong kind altogether.
REQUIRED_MESSAGES = {
    "name": "Please enter your name.",
    "phone": "Please enter the phone number we should call.",
    "consent": "Please tick the box to let us call you back at this number.",
}
FIELD_MESSAGES = {
    "name": "Please enter your name using letters, spaces, periods, apostrophes or hyphens.",
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


class CallbackRequestIn(BaseModel):
    """What the website's form posts (JSON, urlencoded or multipart)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    name: Annotated[str, Field(description="1-100 characters: letters, spaces, . ' -")]
    phone: Annotated[str, Field(description="US/Canadian number in any notation, or +<country code>...")]
    email: Annotated[str | None, Field(max_length=EMAIL_MAX)] = None
    best_time: BestTime = BestTime.ANYTIME
    interest: Interest = Interest.FRACTIONAL_CO2_LASER
    message: Annotated[str | None, Field(description=f"at most {MESSAGE_MAX} characters")] = None
    consent: Annotated[bool, Field(description="must be true: JSON true, or on/true/yes/1 in a form")]
    source_url: Annotated[str | None, Field(max_length=SOURCE_URL_MAX)] = None
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

    @model_validator(mode="wrap")
    @classmethod
    def _honeypot_or_fields(
        cls, data: Any, handler: ModelWrapValidatorHandler[CallbackRequestIn]
    ) -> CallbackRequestIn:
        """Flatten form values, drop empty optional choices, and let a filled honeypot through.

        A bot that fills the hidden field must get the same answer as a person, whatever else it
        sent: the model is built without validation and the route sees ``is_spam``.
        """
        if isinstance(data, dict):
            # Form bodies arrive as {field: [value, ...]}; a field given twice counts once.
            data = {
                key: value[0] if isinstance(value, list) and value else value for key, value in data.items()
            }
            honeypot = data.pop("website", None)
            if honeypot is not None and str(honeypot).strip():
                return cls.model_construct(name="", phone="", consent=False, website=str(honeypot))
            # An untouched <select> may post "" for "no preference": the default applies.
            for choice in ("best_time", "interest"):
                if data.get(choice, "") in ("", None):
                    data.pop(choice, None)
        return handler(data)

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
        for char in text:
            if char in _NAME_PUNCTUATION:
                continue
            if unicodedata.category(char)[0] not in "LM":  # letters of any script, with their marks
                raise _problem(FIELD_MESSAGES["name"])
        return " ".join(text.split())

    @field_validator("phone", mode="before")
    @classmethod
    def _valid_phone(cls, value: Any) -> str:
        text = _as_text("" if value is None else value, "phone").strip()
        if not text:
            raise _problem(REQUIRED_MESSAGES["phone"])
        if len(text) > 40 or _has_control_characters(text):
            raise _problem(FIELD_MESSAGES["phone"])
        try:
            number = phonenumbers.parse(text, "US")
        except phonenumbers.NumberParseException:
            raise _problem(FIELD_MESSAGES["phone"]) from None
        international = text.startswith(("+", "011"))
        if not phonenumbers.is_valid_number(number) or (
            not international and phonenumbers.region_code_for_number(number) not in _NANP_REGIONS
        ):
            raise _problem(FIELD_MESSAGES["phone"])
        return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    @field_validator("email", mode="before")
    @classmethod
    def _valid_email(cls, value: Any) -> str | None:
        text = _optional_text(value, "email")
        if text is None:
            return None
        if len(text) > EMAIL_MAX:
            raise _problem(f"Please use an email address of at most {EMAIL_MAX} characters.")
        try:
            return str(validate_email(text, check_deliverability=False).normalized)
        except EmailNotValidError:
            raise _problem(FIELD_MESSAGES["email"]) from None

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
        scheme, _, rest = text.partition("://")
        host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        if scheme.lower() not in ("http", "https") or not host:
            raise _problem(FIELD_MESSAGES["source_url"])
        return text

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
