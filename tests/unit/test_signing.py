"""The signing secret comes from the function's configuration: no AWS call; after a rotation, what
was signed with the previous secret is still accepted, and nothing else is."""

from __future__ import annotations

import pytest

from callbacks.adapters import signing
from callbacks.core.settings import get_settings
from callbacks.models.errors import SecretUnavailableError


def configured(monkeypatch: pytest.MonkeyPatch, current: str | None, previous: str | None = None) -> None:
    for name, value in (("SIGNING_SECRET", current), ("SIGNING_SECRET_PREVIOUS", previous)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    signing.forget_keys()


def test_given_a_rotation_then_what_the_previous_secret_signed_still_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configured(monkeypatch, "the-first-secret-0123456789abcdef")
    before = signing.signature("render-token", "1796144973591")

    configured(
        monkeypatch, "the-second-secret-0123456789abcdef", previous="the-first-secret-0123456789abcdef"
    )

    assert signing.is_signed("render-token", "1796144973591", before)
    assert signing.signature("render-token", "1796144973591") != before  # new ones: the new secret
    assert not signing.is_signed("mark-called", "1796144973591", before)  # one purpose, one key


def test_given_a_second_rotation_then_the_oldest_secret_no_longer_passes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configured(monkeypatch, "the-first-secret-0123456789abcdef")
    oldest = signing.signature("render-token", "1")

    configured(
        monkeypatch, "the-third-secret-0123456789abcdef", previous="the-second-secret-0123456789abcdef"
    )

    assert not signing.is_signed("render-token", "1", oldest)


def test_given_the_stacks_placeholder_as_previous_then_only_the_current_secret_counts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configured(monkeypatch, "none")
    with pytest.raises(SecretUnavailableError):
        signing.signature("render-token", "1")

    configured(monkeypatch, "the-current-secret-0123456789abcdef", previous="none")
    assert get_settings().signing_secret_previous is None
    assert signing.is_signed("render-token", "1", signing.signature("render-token", "1"))


def test_given_no_secret_configured_then_signing_says_so_by_type_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    configured(monkeypatch, None)

    with pytest.raises(SecretUnavailableError, match=r"^SigningSecretNotConfigured$"):
        signing.signature("render-token", "1")


def test_given_the_secret_then_it_never_shows_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    configured(monkeypatch, "the-current-secret-0123456789abcdef")

    assert "the-current-secret" not in repr(get_settings())
