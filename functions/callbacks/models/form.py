"""The call-back request as the website's form sends it: the form contract.

Every rule of the HTTP contract's field table lives here, with the words a visitor reads when a
value breaks it. Validators raise ``PydanticCustomError`` so that the message is ours, never a
pydantic type name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any
from urllib.parse import urlsplit

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

from callbacks.models.choices import BestTime, Interest
from callbacks.models.fields import (
    FIELD_MESSAGES,
    MESSAGE_MAX,
    REQUIRED_MESSAGES,
    as_text,
    has_control_characters,
    optional_text,
    problem,
)
from callbacks.models.phone import PHONE_COST_MESSAGE, extension_of, new_area_code, normalised_phone

CONSENT_TEXT = (
    "I agree that Accent Plastic & Reconstructive Surgery may call me back at this number about my request."
)
CONSENT_VERSION = "2026-11-callback-v1"

NAME_MAX = 100
EMAIL_MAX = 254
SOURCE_URL_MAX = 2048
CONSENT_TRUE = frozenset({"on", "true", "yes", "1"})
# One per rendered form: the Idempotency-Key header and the idempotency_key field share it.
IDEMPOTENCY_KEY_REGEX = r"^[A-Za-z0-9_-]{1,128}$"
IDEMPOTENCY_KEY_PATTERN = re.compile(IDEMPOTENCY_KEY_REGEX)
_NAME_PUNCTUATION = frozenset(" .'-,&")
# Phones type a right single quotation mark for an apostrophe (O’Brien): read it as one.
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'"})


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
        or has_control_characters(path)
    ):
        return None
    return path


# The plainest addresses: lower-case ASCII, a dot-atom before the @, and after it labels of letters
# and digits joined by single hyphens under one of the commonest top-level domains. email-validator
# accepts every such address exactly as typed (tests/unit/test_plain_email.py generates them and asks
# it), so they are taken without importing it: its import compiles four regular expressions over all
# of Unicode, 16-28 ms of the cold start of a request that carries an address (docs/performance.md).
# Every other address, valid or not, is email-validator's to judge and to normalise.
PLAIN_EMAIL_TLDS = ("com", "net", "org", "edu", "gov", "mil", "us", "ca", "info", "biz", "me", "co", "io")
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9]+(?:-[a-z0-9]+)*\.)+(?:" + "|".join(PLAIN_EMAIL_TLDS) + ")"
)
_LOCAL_MAX = 64  # RFC 5321's limits, which email-validator holds only some addresses to: all, here
_LABEL_MAX = 63


def plain_email(text: str) -> bool:
    """True for an address of the plainest shape (above), which email-validator accepts unchanged."""
    if len(text) > EMAIL_MAX or _PLAIN_EMAIL.fullmatch(text) is None:
        return False
    local, _, domain = text.rpartition("@")
    return len(local) <= _LOCAL_MAX and all(len(label) <= _LABEL_MAX for label in domain.split("."))


def normalised_email(text: str) -> str:
    """The address as the intake stores it; a ``ValueError`` with the visitor's message if invalid."""
    if len(text) > EMAIL_MAX:
        raise problem(f"Please use an email address of at most {EMAIL_MAX} characters.")
    if plain_email(text):
        return text
    # Anything else is email-validator's: loaded on the first address that needs it.
    from email_validator import EmailNotValidError, validate_email

    try:
        return str(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError:
        raise problem(FIELD_MESSAGES["email"]) from None


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
            request._phone_extension = extension_of(data.get("phone"))
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
        caught._phone_extension = extension_of(data.get("phone"))
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
        text = as_text("" if value is None else value, "name").strip()
        if not text:
            raise problem(REQUIRED_MESSAGES["name"])
        if len(text) > NAME_MAX:
            raise problem(f"Please shorten your name to {NAME_MAX} characters or fewer.")
        text = unicodedata.normalize("NFC", text.translate(_APOSTROPHES))
        categories = [unicodedata.category(char)[0] for char in text if char not in _NAME_PUNCTUATION]
        # Letters of any script, with their marks; punctuation alone ("." or "-") is not a name.
        if "L" not in categories or any(category not in "LM" for category in categories):
            raise problem(FIELD_MESSAGES["name"])
        return " ".join(text.split())

    @field_validator("phone", mode="before")
    @classmethod
    def _valid_phone(cls, value: Any) -> str:
        return normalised_phone(value)

    @field_validator("email", mode="before")
    @classmethod
    def _valid_email(cls, value: Any) -> str | None:
        text = optional_text(value, "email")
        return None if text is None else normalised_email(text)

    @field_validator("best_time", "interest", mode="before")
    @classmethod
    def _choice_in_any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("message", mode="before")
    @classmethod
    def _valid_message(cls, value: Any) -> str | None:
        text = optional_text(value, "message")
        if text is None:
            return None
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if len(text) > MESSAGE_MAX:
            raise problem(FIELD_MESSAGES["message"])
        if has_control_characters(text, allowed="\n\t"):
            raise problem("Please remove the unusual characters from your message.")
        return text

    @field_validator("consent", mode="before")
    @classmethod
    def _consent_given(cls, value: Any) -> bool:
        if value is True or (isinstance(value, str) and value.strip().lower() in CONSENT_TRUE):
            return True
        raise problem(REQUIRED_MESSAGES["consent"])

    @field_validator("source_url", mode="before")
    @classmethod
    def _valid_source_url(cls, value: Any) -> str | None:
        text = optional_text(value, "source_url")
        if text is None:
            return None
        if len(text) > SOURCE_URL_MAX or has_control_characters(text) or " " in text:
            raise problem(FIELD_MESSAGES["source_url"])
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise problem(FIELD_MESSAGES["source_url"]) from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise problem(FIELD_MESSAGES["source_url"])
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
        text = optional_text(value, "idempotency_key")
        if text is None:
            return None
        if not IDEMPOTENCY_KEY_PATTERN.match(text):
            raise problem(FIELD_MESSAGES["idempotency_key"])
        return text


# The form contract in one import: its model, limits and every message a visitor may read.
__all__ = [
    "CONSENT_TEXT",
    "CONSENT_VERSION",
    "EMAIL_MAX",
    "FIELD_MESSAGES",
    "IDEMPOTENCY_KEY_PATTERN",
    "IDEMPOTENCY_KEY_REGEX",
    "MESSAGE_MAX",
    "NAME_MAX",
    "PHONE_COST_MESSAGE",
    "REQUIRED_MESSAGES",
    "SOURCE_URL_MAX",
    "CallbackRequestIn",
    "new_area_code",
    "normalised_email",
    "normalised_phone",
    "page_path",
    "plain_email",
]
