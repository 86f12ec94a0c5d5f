"""Alerting the staff: one email per stored request, and a record of it on the request.

The logic every sender of staff alerts shares (the stream entry point, the sweep): decide whether a
request still needs its email, render it, send it, record it. It never sees an event.

Exactly once, across processes, rests on the table, not on memory:

1. **claim**: one conditional ``UpdateItem`` that succeeds only while no alert is recorded and no
   fresh claim is held. A redelivery, in any process, of a request already recorded sends nothing.
2. **send** through SES (never retried by the SDK).
3. **record** ``notified_at`` and the message id, conditional on the claim; retried in place, a few
   times with pauses, so a passing table failure never leads to a second send.

A claim whose holder died (a timeout or crash between claim and record) goes stale after
``alert_claim_stale_seconds``, longer than any function's timeout, and the sweep takes it over. Only
then can an email be doubled: the holder may have died after SES took the message. That one window
is logged as ``staff_alert_possible_duplicate``. A send that certainly failed gives its claim back.

This process also remembers what it sent, as an optimisation only: a repeat here costs no call, and
a record that failed every try is retried without sending again.

AWS calls per email: 3 (claim, send, record); a redelivery of a recorded request: 1 (the refused
claim), none when this process sent it.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, Literal, NamedTuple, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from callbacks.adapters import alert_records, ses, store
from callbacks.core.observability import logger, metrics
from callbacks.core.settings import Settings
from callbacks.emails import staff_alert
from callbacks.logic import follow_up
from callbacks.models.errors import StaffAlertNotSentError, StorageUnavailableError
from callbacks.models.record import StoredCallbackRequest, parse_timestamp, utc_timestamp

# Requests this process has alerted about, newest last; enough to cover any retry it will see.
REMEMBERED_REQUESTS = 1000
# Tries of the record after a send, and the pauses between them (seconds).
RECORD_PAUSES = (0.5, 1.0)
RECORD_ATTEMPTS = len(RECORD_PAUSES) + 1
# The sweep: at most this many requests per run, oldest first; it stops after this many SES or
# table failures in a row (still down: the next run tries again) but steps over a request that
# cannot be read or rendered, so a bad one never holds the others back.
SWEEP_LIMIT = 50
SWEEP_FAILURES_IN_A_ROW = 3
# Time kept free at the end of an invocation, beyond one alert's worst case.
SPARE_SECONDS = 5.0

Outcome = Literal["sent", "skipped", "claimed_elsewhere"]
T = TypeVar("T")


def worst_case_alert_seconds() -> float:
    """The longest one alert can take: claim, send, then every try of the record, each at its worst.

    With aws._CONFIG: 4 + 6 + 3 x 4 + (0.5 + 1) = 23.5 s. A failed send instead costs claim, send
    and the claim's release (4 + 6 + 4 = 14 s) and ends the batch.
    """
    dynamodb = alert_records.worst_case_call_seconds()
    return dynamodb + ses.worst_case_send_seconds() + RECORD_ATTEMPTS * dynamodb + sum(RECORD_PAUSES)


class AlertNotSentError(Exception):
    """The alert could not be handled now; the caller retries. Never carries personal data."""


class AlertNotRecordedError(AlertNotSentError):
    """Sent, but the table did not take the record after every try; a retry here records it."""


class RecentIds(Generic[T]):
    """The most recent ids, each with a value, oldest forgotten first: a bounded LRU."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, T] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def get(self, key: str) -> T | None:
        return self._items.get(key)

    def put(self, key: str, value: T) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def pop(self, key: str) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class _Unrecorded(NamedTuple):
    token: str
    message_id: str


_alerted: RecentIds[bool] = RecentIds(REMEMBERED_REQUESTS)
# Sent, but the table did not take the record: a retry records the same message id, sends nothing.
_sent_not_recorded: RecentIds[_Unrecorded] = RecentIds(REMEMBERED_REQUESTS)


def forget_recent_alerts() -> None:
    """Start afresh, as a new Lambda process would (for tests)."""
    _alerted.clear()
    _sent_not_recorded.clear()


def alert_staff(request: StoredCallbackRequest, settings: Settings) -> Outcome:
    """Email the office about ``request`` unless that is done or under way elsewhere.

    ``"sent"``; ``"skipped"`` (recorded before, or the request is gone); ``"claimed_elsewhere"``
    (another caller holds a fresh claim: it records the alert, or the sweep takes over once the
    claim is stale). Raises ``AlertNotSentError`` when SES or the table fails; nothing is lost.
    """
    request_id = request.id
    if request_id in _alerted:
        return _skipped(request_id, "process_memory")
    unrecorded = _sent_not_recorded.get(request_id)
    if unrecorded is not None:
        _record(request_id, unrecorded)
        return "sent"
    token = uuid.uuid4().hex
    claim = _claim(request_id, token, settings)
    if claim.outcome == "already_notified":
        _alerted.put(request_id, True)
        return _skipped(request_id, "table")
    if claim.outcome == "gone":
        return _skipped(request_id, "request_gone")
    if claim.outcome == "claimed_elsewhere":
        logger.info("staff_alert_claimed_elsewhere", request_id=request_id)
        metrics.add_metric(name="StaffAlertClaimedElsewhere", unit=MetricUnit.Count, value=1)
        return "claimed_elsewhere"
    if claim.took_over_from:
        # The claim's holder died between claiming and recording: it may have sent already.
        logger.warning(
            "staff_alert_possible_duplicate", request_id=request_id, stale_claim_at=claim.took_over_from
        )
        metrics.add_metric(name="StaffAlertPossibleDuplicate", unit=MetricUnit.Count, value=1)
    sent = _Unrecorded(token=token, message_id=_send(request, settings, token))
    _sent_not_recorded.put(request_id, sent)
    _record(request_id, sent)
    return "sent"


def announced_request(key: str, image: dict[str, Any]) -> StoredCallbackRequest | None:
    """The new request a stream record's item holds, or None for any other item (a dedupe marker,
    a cap, a honeypot catch). Raises ``ValueError`` when a request's item does not validate."""
    if not key.startswith(store.REQUEST_PREFIX):
        return None
    return store.request_from_image(image)


def request_id_of(key: str) -> str:
    """The request id in an item's key (``request#<id>``)."""
    return key.removeprefix(store.REQUEST_PREFIX)


def alert_failed(request_id: str, reason: str, error_code: str, ses_message_id: str | None = None) -> None:
    """Log and count an alert that could not be handled (ids and codes only)."""
    logger.error(
        "staff_alert_failed",
        request_id=request_id,
        reason=reason,
        error_code=error_code,
        ses_message_id=ses_message_id,
    )
    metrics.add_metric(name="StaffAlertFailed", unit=MetricUnit.Count, value=1)


def _skipped(request_id: str, known_from: str) -> Outcome:
    logger.info("staff_alert_already_sent", request_id=request_id, known_from=known_from)
    metrics.add_metric(name="StaffAlertSkipped", unit=MetricUnit.Count, value=1)
    return "skipped"


def _claim(request_id: str, token: str, settings: Settings) -> alert_records.AlertClaim:
    now = datetime.now(UTC)
    stale_before = now - timedelta(seconds=settings.alert_claim_stale_seconds)
    try:
        return alert_records.claim_alert(request_id, token, utc_timestamp(now), utc_timestamp(stale_before))
    except StorageUnavailableError as error:
        alert_failed(request_id, "storage_unavailable", str(error))
        raise AlertNotSentError(f"storage unavailable: {error}") from None


def _send(request: StoredCallbackRequest, settings: Settings, token: str) -> str:
    try:
        link = follow_up.mark_called_url_or_none(request.id, settings, datetime.now(UTC))
        alert = staff_alert.render_staff_alert(request, settings, link)
        message_id = ses.send_staff_alert(alert, settings)
    except StaffAlertNotSentError as error:
        alert_failed(request.id, "ses_error", str(error))
        if error.maybe_sent:
            # Kept: if SES did take it, a quick retry would double it; the sweep retries when stale.
            logger.warning("staff_alert_send_unknown", request_id=request.id, error_code=str(error))
        else:
            _release(request.id, token)
        raise AlertNotSentError(f"ses: {error}") from None
    except Exception:
        _release(request.id, token)  # a bug before SES was called: nothing went out
        raise
    age = max(0.0, time.time() - parse_timestamp(request.created_at).timestamp())
    metrics.add_metric(name="StaffAlertSent", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="StaffAlertAgeSeconds", unit=MetricUnit.Seconds, value=round(age, 3))
    logger.info("staff_alert_sent", request_id=request.id, ses_message_id=message_id, age_seconds=round(age))
    return message_id


def _release(request_id: str, token: str) -> None:
    try:
        alert_records.release_alert_claim(request_id, token)
    except StorageUnavailableError as error:
        # It goes stale instead, and the sweep takes it over then (logged as a possible duplicate).
        logger.warning("staff_alert_claim_not_released", request_id=request_id, error_code=str(error))


def _record(request_id: str, sent: _Unrecorded) -> None:
    notified_at = utc_timestamp(datetime.now(UTC))
    for attempt in range(1, RECORD_ATTEMPTS + 1):
        try:
            recorded = alert_records.mark_notified(request_id, notified_at, sent.message_id, sent.token)
            break
        except StorageUnavailableError as error:
            if attempt == RECORD_ATTEMPTS:
                alert_failed(request_id, "not_recorded", str(error), ses_message_id=sent.message_id)
                raise AlertNotRecordedError(f"storage unavailable: {error}") from None
            logger.warning(
                "staff_alert_record_retried", request_id=request_id, attempt=attempt, error_code=str(error)
            )
            time.sleep(RECORD_PAUSES[attempt - 1])
    _sent_not_recorded.pop(request_id)
    _alerted.put(request_id, True)
    if not recorded:
        # Our claim went stale and another caller took it over: it records its own send.
        logger.warning("staff_alert_claim_lost", request_id=request_id, ses_message_id=sent.message_id)


@dataclass
class SweepReport:
    """What one sweep run found and did (counts only)."""

    found: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def send_unsent_alerts(settings: Settings, seconds_left: Callable[[], float]) -> SweepReport:
    """Alert the staff about every stored request never emailed, oldest first, bounded per run.

    Only requests older than ``alert_sweep_min_age_seconds`` are taken: younger ones are the
    stream's. Each goes through ``alert_staff``; an alert is only started with time for its worst case.
    """
    report = SweepReport()
    before = datetime.now(UTC) - timedelta(seconds=settings.alert_sweep_min_age_seconds)
    try:
        pending = alert_records.unsent_alerts(created_before=utc_timestamp(before), limit=SWEEP_LIMIT)
    except StorageUnavailableError as error:
        logger.error("staff_alert_sweep_failed", reason="storage_unavailable", error_code=str(error))
        metrics.add_metric(name="StaffAlertSweepFailed", unit=MetricUnit.Count, value=1)
        report.stopped = "storage_unavailable"
        return report
    report.found = len(pending)
    failures_in_a_row = 0
    for found in pending:
        if seconds_left() < worst_case_alert_seconds() + SPARE_SECONDS:
            report.stopped = "time"
            break
        if found.request is None:
            logger.error("stored_request_unreadable", request_id=found.request_id)
            alert_failed(found.request_id, "unreadable", "ValidationError")
            report.count("failed")
            continue
        try:
            outcome: str = alert_staff(found.request, settings)
            failures_in_a_row = 0
        except AlertNotSentError:  # SES or the table: likely down for the next ones too
            outcome = "failed"
            failures_in_a_row += 1
        except Exception as error:  # a bug with this request, not an outage: on to the next
            alert_failed(found.request_id, "unexpected", type(error).__name__)
            outcome = "failed"
        report.count(outcome)
        if failures_in_a_row >= SWEEP_FAILURES_IN_A_ROW:
            report.stopped = "failures"
            break
    done = {"found": report.found, "stopped": report.stopped, **report.outcomes}
    # A run that found nothing is not news (it happens every 5 minutes).
    (logger.info if report.found else logger.debug)("staff_alert_sweep_done", extra=done)
    if report.found:
        metrics.add_metric(name="StaffAlertSweepFound", unit=MetricUnit.Count, value=report.found)
    return report


class DeliveryProblem(NamedTuple):
    """An SES event about a sent alert that did not reach (or upset) an office mailbox. No addresses."""

    kind: Literal["bounce", "complaint", "reject", "delivery_delay"]
    ses_message_id: str | None
    request_id: str | None
    detail: str | None  # SES's own classification (bounce type, complaint type, delay type)
    recipients: int


DELIVERY_METRICS = {
    "bounce": "StaffAlertBounced",
    "complaint": "StaffAlertComplained",
    "reject": "StaffAlertRejected",
    "delivery_delay": "StaffAlertDelayed",
}


def record_delivery_problem(problem: DeliveryProblem) -> None:
    """Count and log a bounce, complaint, rejection or delay: the office may not have the alert."""
    metrics.add_metric(name=DELIVERY_METRICS[problem.kind], unit=MetricUnit.Count, value=1)
    logger.warning(
        f"staff_alert_{problem.kind}",
        request_id=problem.request_id,
        ses_message_id=problem.ses_message_id,
        detail=problem.detail,
        recipients=problem.recipients,
    )
