"""The domain's errors: what the adapters raise and the entry points turn into answers.

They live here, below every layer, so that mapping an error to an HTTP answer imports no adapter.
Each carries an error code or type only: AWS error texts can echo addresses.
"""

from __future__ import annotations


class StorageUnavailableError(Exception):
    """The table could not be reached or refused the write; nothing was stored."""


class SecretUnavailableError(Exception):
    """The signing secret could not be read; carries the error type only."""


class StaffAlertNotSentError(Exception):
    """SES did not take the alert. Carries the error code only: SES messages can echo addresses.

    ``maybe_sent`` is True when SES may have taken it all the same (the answer was lost on the way
    back); False when it certainly did not (SES answered with an error, or was never reached).
    """

    def __init__(self, code: str, *, maybe_sent: bool = False) -> None:
        super().__init__(code)
        self.maybe_sent = maybe_sent
