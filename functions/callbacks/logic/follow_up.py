"""Following up a request after its email: the signed mark-as-called link, and marking it called.

The logic the mark-as-called routes (contacted.py), the notifier (a link in each alert) and the
digest (overdue.py) share. It never sees an event or the environment.

A link's token is ``<expires>.<signature>``: the signature is HMAC-SHA256 over the request id and
the expiry, with this purpose's own key derived from the deployment's one secret (signing.py,
its configuration), so one token marks one request, only that, and only until it expires. The
GET of a link changes nothing (mail scanners open every link); only the POST of its page's button
marks the request.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, TypeVar
from urllib.parse import quote

from aws_lambda_powertools.metrics import MetricUnit

from callbacks.adapters import signing, store
from callbacks.core import deadline
from callbacks.core.observability import logger, metrics
from callbacks.core.settings import Settings
from callbacks.models.errors import SecretUnavailableError, StorageUnavailableError
from callbacks.models.record import StoredCallbackRequest, parse_timestamp, utc_timestamp

T = TypeVar("T")
PURPOSE = "mark-called"
LINK_LIFETIME = timedelta(days=14)
_TOKEN = re.compile(r"^(?P<expires>[0-9]{1,12})\.(?P<signature>[A-Za-z0-9_-]{43})$")
_REQUEST_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class LinkProblem(StrEnum):
    """Why a link cannot mark its request; each gets its own page, and none changes anything."""

    MALFORMED = "malformed"  # cut short, mangled, or no token at all
    FORGED = "forged"  # a signature that is not ours, or one made for another request
    EXPIRED = "expired"
    UNKNOWN_REQUEST = "unknown_request"  # signed, but the request is no longer stored
    UNAVAILABLE = "unavailable"  # the secret or the table could not be read: try again


class LinkRefusedError(Exception):
    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


def _with_the_secret(sign_or_check: Callable[[], T]) -> T:
    try:
        return sign_or_check()
    except SecretUnavailableError as error:
        logger.error("mark_called_secret_unavailable", error_type=str(error))
        raise LinkRefusedError(LinkProblem.UNAVAILABLE) from None


def sign(request_id: str, expires: datetime) -> str:
    """The token of a link that marks ``request_id`` called until ``expires``."""
    epoch = int(expires.timestamp())
    return f"{epoch}.{_with_the_secret(lambda: signing.signature(PURPOSE, f'{request_id}.{epoch}'))}"


def verify(request_id: str, token: str | None, now: datetime) -> None:
    """Raises ``LinkRefusedError`` unless ``token`` was made by us for ``request_id`` and is current."""
    match = _TOKEN.match(token or "")
    if not match or not _REQUEST_ID.match(request_id):
        raise LinkRefusedError(LinkProblem.MALFORMED)
    expires = int(match["expires"])
    message = f"{request_id}.{expires}"
    if not _with_the_secret(lambda: signing.is_signed(PURPOSE, message, match["signature"])):
        raise LinkRefusedError(LinkProblem.FORGED)
    if now.timestamp() >= expires:
        raise LinkRefusedError(LinkProblem.EXPIRED)


def mark_called_url(request_id: str, settings: Settings, now: datetime) -> str:
    """The signed link that marks ``request_id`` called, valid for 14 days from ``now``."""
    token = sign(request_id, now + LINK_LIFETIME)
    return f"{settings.api_base_url}/callback-requests/{quote(request_id)}/contacted?token={token}"


def mark_called_url_or_none(request_id: str, settings: Settings, now: datetime) -> str | None:
    """The link for a staff alert or a digest line, or None when the secret cannot be read: an
    email without its link beats a delayed email (a later digest carries a fresh one)."""
    try:
        return mark_called_url(request_id, settings, now)
    except LinkRefusedError:
        return None


class Marking(NamedTuple):
    """What a mark-as-called link found or did."""

    request: StoredCallbackRequest
    marked_now: bool

    @property
    def contacted_at(self) -> str | None:
        return self.request.contacted_at


def _checked(request_id: str, token: str | None, settings: Settings, now: datetime) -> None:
    # A malformed link is told before the secret is even read.
    if not _TOKEN.match(token or "") or not _REQUEST_ID.match(request_id):
        raise LinkRefusedError(LinkProblem.MALFORMED)
    try:
        verify(request_id, token, now)
    except LinkRefusedError as refused:
        logger.info("mark_called_link_refused", request_id=request_id, problem=refused.problem.value)
        metrics.add_metric(name="MarkCalledLinkRefused", unit=MetricUnit.Count, value=1)
        raise


def look_up(request_id: str, token: str | None, settings: Settings, now: datetime) -> Marking:
    """What the link's page shows (the GET): the request, changed in nothing."""
    _checked(request_id, token, settings, now)
    try:
        request = store.get_request(request_id)
    except StorageUnavailableError as error:
        logger.error("storage_unavailable", error_code=str(error))
        raise LinkRefusedError(LinkProblem.UNAVAILABLE) from None
    if request is None:
        raise LinkRefusedError(LinkProblem.UNKNOWN_REQUEST)
    return Marking(request=request, marked_now=False)


def mark_called(request_id: str, token: str | None, settings: Settings, now: datetime) -> Marking:
    """Mark the request called (the POST), once: a second click finds it marked and says when."""
    _checked(request_id, token, settings, now)
    try:
        outcome = store.mark_contacted(request_id, utc_timestamp(now))
    except StorageUnavailableError as error:
        logger.error("storage_unavailable", error_code=str(error))
        raise LinkRefusedError(LinkProblem.UNAVAILABLE) from None
    if outcome.request is None:
        raise LinkRefusedError(LinkProblem.UNKNOWN_REQUEST)
    if outcome.marked:
        _count_call(outcome.request, now)
    else:
        logger.info("callback_request_already_contacted", request_id=request_id)
    return Marking(request=outcome.request, marked_now=outcome.marked)


def _count_call(request: StoredCallbackRequest, contacted: datetime) -> None:
    minutes = deadline.minutes_to_call_back(parse_timestamp(request.created_at), contacted)
    metrics.add_metric(name="CallbackRequestContacted", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="TimeToCallbackMinutes", unit=MetricUnit.NoUnit, value=minutes)
    on_time = deadline.called_by_deadline(request.call_by, contacted)
    if request.call_by is not None:
        metrics.add_metric(name="CalledByDeadline", unit=MetricUnit.Count, value=1 if on_time else 0)
    logger.info(
        "callback_request_contacted", request_id=request.id, minutes_to_call=minutes, by_deadline=on_time
    )


__all__ = [
    "LINK_LIFETIME",
    "LinkProblem",
    "LinkRefusedError",
    "Marking",
    "look_up",
    "mark_called",
    "mark_called_url",
    "mark_called_url_or_none",
    "sign",
    "verify",
]
