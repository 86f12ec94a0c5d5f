"""The plainest addresses skip email-validator's import (models/form.py ``plain_email``); these tests
hold that shortcut to the library: every address the shortcut takes, email-validator takes
unchanged, and for any text at all the intake answers what email-validator alone would answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from callbacks.models.form import _PLAIN_EMAIL, EMAIL_MAX, PLAIN_EMAIL_TLDS, normalised_email, plain_email

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


def library_answer(text: str) -> str | None:
    """What email-validator alone makes of an address: its normalised form, or None if refused."""
    if len(text) > EMAIL_MAX:
        return None
    try:
        return str(validate_email(text, check_deliverability=False).normalized)
    except EmailNotValidError:
        return None


def intake_answer(text: str) -> str | None:
    try:
        return normalised_email(text)
    except ValueError:
        return None


label = st.from_regex(r"[a-z0-9]+(?:-[a-z0-9]+)*", fullmatch=True)
long_plain = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    st.from_regex(r"[a-z0-9_+-]{1,64}(?:\.[a-z0-9_+-]{1,20}){0,3}", fullmatch=True),
    st.lists(label.filter(lambda text: len(text) <= 70), min_size=1, max_size=4),
    st.sampled_from(PLAIN_EMAIL_TLDS),
)


@settings(max_examples=500)
@given(st.from_regex(_PLAIN_EMAIL, fullmatch=True) | long_plain)
@example("jane@example.com")
@example("postmaster@example.com")  # a mailbox name email-validator lower-cases: already lower
@example("-_+@0.co")
@example("a@" + "b" * 63 + ".com")
def test_every_address_the_shortcut_takes_email_validator_takes_unchanged(address: str) -> None:
    assume(plain_email(address))  # a strategy that stopped making plain addresses fails the health check

    assert library_answer(address) == address


@pytest.mark.parametrize(
    "address",
    [
        "Jane@example.com",  # upper case: email-validator's to normalise
        "jane@Example.COM",
        "a..b@example.com",
        ".jane@example.com",
        "jane.@example.com",
        "jane@-example.com",
        "jane@example-.com",
        "jane@ab--cd.com",  # hyphens in the 3rd and 4th places: IDNA refuses the label
        "jane@xn--bcher-kva.com",  # punycode: email-validator decodes it
        "jane@example.test",
        "jane@example.local",
        "jane@localhost",
        "jane@example",
        "jane@example.com.",
        "jane@" + "b" * 64 + ".com",  # a label over 63 characters
        "j" * 65 + "@example.com",  # a local part over 64: accepted outside strict mode
        "jane@" + ("b" * 62 + ".") * 4 + "com",  # over 254 characters in all
        "jané@example.com",
        "jane@exämple.com",
        "jane doe@example.com",
        "jane@example.com\n",
        "jane@@example.com",
        '"jane"@example.com',
        "jane@[203.0.113.1]",
        "Jane <jane@example.com>",
        "",
        "@",
    ],
)
def test_a_near_miss_gets_the_libraries_answer(address: str) -> None:
    assert not plain_email(address)
    assert intake_answer(address) == library_answer(address)


@settings(max_examples=800)
@given(st.emails() | st.text(max_size=80) | st.from_regex(r"[A-Za-z0-9._+@-]{1,40}", fullmatch=True))
def test_for_any_text_the_intake_answers_what_email_validator_alone_answers(text: str) -> None:
    assert intake_answer(text) == library_answer(text)


def modules_after(code: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", f"import json, sys; {code}; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=FUNCTIONS,
        timeout=60,
    )
    return set(json.loads(result.stdout))


def test_a_plain_address_is_taken_without_importing_email_validator_and_any_other_imports_it() -> None:
    form = "from callbacks.models.form import normalised_email"

    assert "email_validator" not in modules_after(f"{form}; normalised_email('jane.doe@gmail.com')")
    assert "email_validator" in modules_after(f"{form}; normalised_email('Jane.Doe@Gmail.com')")
