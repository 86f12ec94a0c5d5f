"""Keys made from the deployment's one secret, one per purpose.

The secret reaches the function through its configuration (``SIGNING_SECRET``: CloudFormation
resolves it from Secrets Manager at deploy), so signing makes no AWS call. It never leaves this
module; each purpose (a render token, a keyed hash of an address) gets its own HMAC key, so a value
signed for one purpose is worthless for another. What was signed with the secret before its last
rotation (``SIGNING_SECRET_PREVIOUS``) is still accepted: a form rendered, or a link emailed, just
before a rotation keeps working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache

from callbacks.core.settings import get_settings
from callbacks.models.errors import SecretUnavailableError


@cache
def _keys(purpose: str) -> tuple[bytes, ...]:
    """This purpose's key from the current secret, then from the previous one (if any)."""
    settings = get_settings()
    if settings.signing_secret is None:
        raise SecretUnavailableError("SigningSecretNotConfigured")
    secrets = [settings.signing_secret, settings.signing_secret_previous]
    return tuple(
        hmac.new(secret.get_secret_value().encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).digest()
        for secret in secrets
        if secret is not None
    )


def forget_keys() -> None:
    """Make the keys again on next use (tests that change the settings)."""
    _keys.cache_clear()


def _mac(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def signature(purpose: str, message: str) -> str:
    """A URL-safe HMAC-SHA256 of ``message`` for ``purpose`` with the current secret (43 characters)."""
    return _mac(_keys(purpose)[0], message)


def is_signed(purpose: str, message: str, candidate: str) -> bool:
    """Whether ``candidate`` is this purpose's signature of ``message``, by the current or the
    previous secret."""
    return any(hmac.compare_digest(_mac(key, message), candidate) for key in _keys(purpose))
