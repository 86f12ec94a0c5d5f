"""Keys made from the deployment's one secret (SSM Parameter Store), one per purpose.

The secret never leaves this module; each purpose (a render token, a keyed hash of an address)
gets its own HMAC key, so a value signed for one purpose is worthless for another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import cache

from callbacks.adapters import aws
from callbacks.core.settings import get_settings
from callbacks.models.errors import SecretUnavailableError


@cache
def _key(purpose: str) -> bytes:
    try:
        secret = aws.ssm_parameter(get_settings().signing_secret_parameter)
    except Exception as error:  # Powertools wraps every SSM failure; the type is enough
        raise SecretUnavailableError(type(error).__name__) from None
    return hmac.new(secret.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256).digest()


def forget_keys() -> None:
    """Read the secret again on next use (tests, and a rotated secret after a cold start)."""
    _key.cache_clear()


def signature(purpose: str, message: str) -> str:
    """A URL-safe HMAC-SHA256 of ``message`` for ``purpose`` (43 characters)."""
    digest = hmac.new(_key(purpose), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_signed(purpose: str, message: str, candidate: str) -> bool:
    return hmac.compare_digest(signature(purpose, message), candidate)
