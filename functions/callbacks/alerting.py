"""Alerting the staff: one email per stored request, and a record of it on the request.

The logic every sender of staff alerts shares (the stream entry point today): decide whether a
request still needs its email, render it, send it, record it. It never sees an event.

A redelivered request must not send a second email. This process remembers the requests it has
alerted about; a delivery that may be a repeat (a retry, or a backlog after an SES outage, possibly
in a new process) is first checked against the table. A fresh first delivery costs two AWS calls:
send, record.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit

from callbacks import mailer, store
from callbacks.models.record import StoredCallbackRequest, parse_timestamp, utc_timestamp
from callbacks.observability import logger, metrics
from callbacks.settings import Settings

# Requests this process has alerted about, newest last; enough to cover any retry it will see.
REMEMBERED_REQUESTS = 1000


class AlertNotSentError(Exception):
    """The alert could not be handled now; the caller retries. Never carries personal data."""


class RecentIds:
    """The most recent ids (each with an optional value), oldest forgotten first: a bounded LRU."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, str] = OrderedDict()

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def get(self, key: str) -> str | None:
        return self._items.get(key)

    def put(self, key: str, value: str = "") -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def pop(self, key: str) -> None:
        self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


_alerted = RecentIds(REMEMBERED_REQUESTS)
# Sent, but the table did not take the record: a retry records the same message id, sends nothing.
_sent_not_recorded = RecentIds(REMEMBERED_REQUESTS)


def forget_recent_alerts() -> None:
    """Start afresh, as a new Lambda process would (for tests)."""
    _alerted.clear()
    _sent_not_recorded.clear()


def alert_staff(request: StoredCallbackRequest, settings: Settings, *, may_be_repeat: bool) -> str:
    """Email the office about ``request`` unless that is known done: ``"sent"`` or ``"skipped"``.

    Raises ``AlertNotSentError`` when SES or the table fails; nothing is lost, the caller retries.
    """
    request_id = request.id
    if request_id in _alerted:
        return _skipped(request_id, "process_memory")
    message_id = _sent_not_recorded.get(request_id)
    if message_id is None:
        if may_be_repeat and _is_notified(request_id):
            _alerted.put(request_id)
            return _skipped(request_id, "table")
        message_id = _send(request, settings)
        _sent_not_recorded.put(request_id, message_id)
    _record(request_id, message_id)
    _sent_not_recorded.pop(request_id)
    _alerted.put(request_id)
    return "sent"


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


def _skipped(request_id: str, known_from: str) -> str:
    logger.info("staff_alert_already_sent", request_id=request_id, known_from=known_from)
    metrics.add_metric(name="StaffAlertSkipped", unit=MetricUnit.Count, value=1)
    return "skipped"


def _is_notified(request_id: str) -> bool:
    try:
        return store.is_notified(request_id)
    except store.StorageUnavailableError as error:
        alert_failed(request_id, "storage_unavailable", str(error))
        raise AlertNotSentError(f"storage unavailable: {error}") from None


def _send(request: StoredCallbackRequest, settings: Settings) -> str:
    alert = mailer.render_staff_alert(request, settings)
    try:
        message_id = mailer.send_staff_alert(alert, settings)
    except mailer.StaffAlertNotSentError as error:
        alert_failed(request.id, "ses_error", str(error))
        raise AlertNotSentError(f"ses: {error}") from None
    age = max(0.0, time.time() - parse_timestamp(request.created_at).timestamp())
    metrics.add_metric(name="StaffAlertSent", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="StaffAlertAgeSeconds", unit=MetricUnit.Seconds, value=round(age, 3))
    logger.info("staff_alert_sent", request_id=request.id, ses_message_id=message_id, age_seconds=round(age))
    return message_id


def _record(request_id: str, message_id: str) -> None:
    try:
        recorded = store.mark_notified(request_id, utc_timestamp(datetime.now(UTC)), message_id)
    except store.StorageUnavailableError as error:
        alert_failed(request_id, "storage_unavailable", str(error), ses_message_id=message_id)
        raise AlertNotSentError(f"storage unavailable: {error}") from None
    if not recorded:
        logger.warning("staff_alert_already_recorded", request_id=request_id, ses_message_id=message_id)
