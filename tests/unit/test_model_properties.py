"""Properties of the form contract, over inputs nobody thought to write down (hypothesis).

- whatever a client sends, validation either accepts it or names fields in our words: nothing
  else escapes (no crash, no pydantic wording for a visitor);
- a normalised phone number validates back to itself;
- every accepted request fits the stored record and the API's body limit, in every content type.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from callbacks.handlers.api.gate import MAX_BODY_BYTES
from callbacks.logic.registration import Arrival, deadline_of, stored_record
from callbacks.models.api import field_problems
from callbacks.models.form import EMAIL_MAX, MESSAGE_MAX, NAME_MAX, SOURCE_URL_MAX, CallbackRequestIn
from callbacks.models.record import StoredCallbackRequest
from tests.conftest import deployment_settings

FIELDS = ("name", "phone", "email", "best_time", "interest", "message", "consent", "source_url", "website")
PYDANTIC_WORDING = ("Input should", "validation error", "pydantic", "Field required", "type=")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
any_body = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), json_values, max_size=10)
form_body = st.dictionaries(st.sampled_from(FIELDS), st.lists(st.text(max_size=60), min_size=1, max_size=2))

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _messages_of_refusal(body: dict[str, Any]) -> list[str]:
    """The sentences a visitor would read for ``body``; empty when it is accepted."""
    try:
        CallbackRequestIn.model_validate(body)
    except ValidationError as error:  # the only exception that may escape
        problems = field_problems(list(error.errors()))
        assert problems, "a refusal that names no field"
        return [problem.message for problem in problems]
    return []


@PROPERTY
@given(body=any_body | form_body)
def test_any_body_is_accepted_or_refused_in_our_words_never_a_crash(body: dict[str, Any]) -> None:
    for message in _messages_of_refusal(body):
        assert message.endswith(".")
        assert not any(words in message for words in PYDANTIC_WORDING)


nanp_numbers = st.builds(
    "({}{}{}) {}{}{}-{}".format,
    st.sampled_from("23456789"),
    st.sampled_from("0123456789"),
    st.sampled_from("0123456789"),
    st.sampled_from("23456789"),
    st.sampled_from("0123456789"),
    st.sampled_from("0123456789"),
    st.integers(0, 9999).map("{:04d}".format),
)
notations = st.sampled_from(["{}", "+1 {}", "1-{}", "{} "])


@PROPERTY
@given(number=nanp_numbers, notation=notations)
def test_a_normalised_phone_number_validates_back_to_itself(number: str, notation: str) -> None:
    fields = {"name": "Jane", "consent": True}
    try:
        first = CallbackRequestIn.model_validate({**fields, "phone": notation.format(number)})
    except ValidationError:
        return  # not a valid number (an unassigned area code, say): nothing to normalise
    again = CallbackRequestIn.model_validate({**fields, "phone": first.phone})

    assert again.phone == first.phone
    assert first.phone.startswith("+")


# Letters from scripts that take the most bytes: 3-byte CJK, 4-byte supplementary letters.
wide_letters = st.sampled_from("我想了解激光换肤𠀀𠀁𠀂𐐀𐐁ÄÖÜ")
wide_text = st.text(alphabet=wide_letters, min_size=1)


def _encodings(fields: dict[str, Any]) -> dict[str, bytes]:
    form = {key: ("on" if value is True else str(value)) for key, value in fields.items()}
    boundary = "----formdata-polyfill-0123456789abcdef"
    multipart = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        for key, value in form.items()
    )
    return {
        "json": json.dumps(fields).encode(),  # ensure_ascii: every character as \\uXXXX, the worst case
        "urlencoded": urlencode(form).encode(),
        "multipart": f"{multipart}--{boundary}--\r\n".encode(),
    }


@PROPERTY
@given(
    name=wide_text.map(lambda text: text[:NAME_MAX]),
    message=st.text(alphabet=wide_letters | st.just("\n"), min_size=MESSAGE_MAX, max_size=MESSAGE_MAX),
    path=st.text(alphabet=st.sampled_from("abcdefghij-/"), min_size=1, max_size=200),
)
def test_every_accepted_request_fits_the_stored_record_and_the_body_limit(
    name: str, message: str, path: str
) -> None:
    fields: dict[str, Any] = {
        "name": name,
        "phone": "+1 (662) 377-6290 ",
        "email": ("j" * 64 + "@" + "example." * 20 + "com")[:EMAIL_MAX],
        "best_time": "afternoon",
        "interest": "scars-burns",
        "message": message,
        "consent": True,
        "source_url": ("https://www.accentplasticsurgery.example/" + path * 20)[:SOURCE_URL_MAX],
        "website": "",
        "idempotency_key": "k" * 128,
    }
    assume(not _messages_of_refusal(fields))
    request = CallbackRequestIn.model_validate(fields)
    arrival = Arrival(ip_address="2001:db8::1", correlation_id="c" * 36, received_at=datetime.now(UTC))

    settings = deployment_settings()
    record = stored_record(request, arrival, deadline_of(request, arrival, settings), settings)

    assert StoredCallbackRequest.model_validate(record.model_dump()) == record
    for content_type, body in _encodings(fields).items():
        assert len(body) <= MAX_BODY_BYTES, content_type
