"""What a visitor reads about each field, and the small rules every field shares.

The form (form.py) and the phone rules (phone.py) both raise these messages.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from pydantic_core import PydanticCustomError

MESSAGE_MAX = 1000

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


def problem(message: str) -> PydanticCustomError:
    return PydanticCustomError("field_invalid", message)


def has_control_characters(value: str, allowed: str = "") -> bool:
    return any(unicodedata.category(char) == "Cc" and char not in allowed for char in value)


def as_text(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value
    raise problem(FIELD_MESSAGES[field])


def optional_text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    text = as_text(value, field).strip()
    return text or None
