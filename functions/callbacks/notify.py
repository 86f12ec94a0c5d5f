"""Stream entry point: one staff email per new call-back request, never lost, never doubled.

Lambda feeds this function the table's stream (INSERTs of ``request#`` items) and reads
``batchItemFailures`` back. A failed record is retried from its sequence number onwards, so once a
record of a batch fails, the later ones are reported failed without being sent: they come back in
the retry, and sending them now would send them twice.

A redelivered record must not send a second email. This process remembers the requests it has
notified; a record older than ``FRESH_SECONDS`` (a retry, or a backlog after an SES outage, possibly
in a new process) is first checked against the table. A fresh first delivery costs two AWS calls:
send, record.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from callbacks import mailer, store
from callbacks.models import StoredCallbackRequest
from callbacks.observability import logger, metrics
from callbacks.settings import Settings, get_settings

# A record older than this may have been handled before (a retry, a backlog): ask the table first.
FRESH_SECONDS = 60
# Requests this process has notified, newest last; enough to cover any retry it will see.
REMEMBERED_REQUESTS = 1000


class NotifyFailedError(Exception):
    """A record could not be handled now; Lambda retries it. Never carries personal data."""


class SkippedAfterEarlierFailureError(NotifyFailedError):
    """Not attempted: an earlier record of this batch failed, and Lambda resends from there."""


class _Remembered:
    """A bounded map, oldest forgotten first."""

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


_notified = _Remembered(REMEMBERED_REQUESTS)
# Sent, but the table did not take the record: a retry records the same message id, sends nothing.
_sent_not_recorded = _Remembered(REMEMBERED_REQUESTS)
_processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


def forget_notified_requests() -> None:
    """Start afresh, as a new Lambda process would (for tests)."""
    _notified.clear()
    _sent_not_recorded.clear()


def _iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_request(record: DynamoDBRecord) -> StoredCallbackRequest | None:
    """The request a record announces, or None for anything that is not a new request."""
    stream = record.dynamodb
    if record.event_name is not DynamoDBRecordEventName.INSERT or stream is None:
        return None
    if not str(stream.keys.get("pk", "")).startswith(store.REQUEST_PREFIX):
        return None
    try:
        return store.request_from_image(stream.new_image)
    except Exception:  # a validation error quotes the stored values: say nothing of them
        logger.error("stored_request_unreadable", sequence_number=stream.sequence_number)
        metrics.add_metric(name="StaffAlertFailed", unit=MetricUnit.Count, value=1)
        raise NotifyFailedError("stored request unreadable") from None


@dataclass
class _Batch:
    """One invocation's records, in stream order."""

    settings: Settings
    failed: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)

    def __call__(self, record: DynamoDBRecord) -> str:
        if self.failed:
            self._count("deferred")
            raise SkippedAfterEarlierFailureError("skipped after an earlier failure in this batch")
        try:
            outcome = self._handle(record)
        except NotifyFailedError:
            self.failed = True
            self._count("failed")
            raise
        except Exception as error:  # a bug, not an outage: still only this record and the later ones
            self.failed = True
            self._count("failed")
            _failed(_request_id_of(record), "unexpected", type(error).__name__)
            raise NotifyFailedError(f"unexpected {type(error).__name__}") from None
        self._count(outcome)
        return outcome

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def _handle(self, record: DynamoDBRecord) -> str:
        request = _new_request(record)
        if request is None:
            return "ignored"
        request_id = request.id
        if request_id in _notified:
            return _skipped(request_id, "process_memory")
        message_id = _sent_not_recorded.get(request_id)
        if message_id is None:
            if _may_be_redelivery(record) and _is_notified(request_id):
                _notified.put(request_id)
                return _skipped(request_id, "table")
            message_id = _send(request, self.settings)
            _sent_not_recorded.put(request_id, message_id)
        _record(request_id, message_id)
        _sent_not_recorded.pop(request_id)
        _notified.put(request_id)
        return "sent"


def _request_id_of(record: DynamoDBRecord) -> str:
    pk = str(record.dynamodb.keys.get("pk", "")) if record.dynamodb else ""
    return pk.removeprefix(store.REQUEST_PREFIX)


def _may_be_redelivery(record: DynamoDBRecord) -> bool:
    created = record.dynamodb.approximate_creation_date_time if record.dynamodb else None
    return created is None or time.time() - created > FRESH_SECONDS


def _skipped(request_id: str, known_from: str) -> str:
    logger.info("staff_alert_already_sent", request_id=request_id, known_from=known_from)
    metrics.add_metric(name="StaffAlertSkipped", unit=MetricUnit.Count, value=1)
    return "skipped"


def _is_notified(request_id: str) -> bool:
    try:
        return store.is_notified(request_id)
    except store.StorageUnavailableError as error:
        _failed(request_id, "storage_unavailable", str(error))
        raise NotifyFailedError(f"storage unavailable: {error}") from None


def _send(request: StoredCallbackRequest, settings: Settings) -> str:
    alert = mailer.render_staff_alert(request, settings)
    try:
        message_id = mailer.send_staff_alert(alert, settings)
    except mailer.StaffAlertNotSentError as error:
        _failed(request.id, "ses_error", str(error))
        raise NotifyFailedError(f"ses: {error}") from None
    age = max(0.0, time.time() - mailer.received_at(request.created_at).timestamp())
    metrics.add_metric(name="StaffAlertSent", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="StaffAlertAgeSeconds", unit=MetricUnit.Seconds, value=round(age, 3))
    logger.info("staff_alert_sent", request_id=request.id, ses_message_id=message_id, age_seconds=round(age))
    return message_id


def _record(request_id: str, message_id: str) -> None:
    try:
        recorded = store.mark_notified(request_id, _iso_utc(time.time()), message_id)
    except store.StorageUnavailableError as error:
        _failed(request_id, "storage_unavailable", str(error), ses_message_id=message_id)
        raise NotifyFailedError(f"storage unavailable: {error}") from None
    if not recorded:
        logger.warning("staff_alert_already_recorded", request_id=request_id, ses_message_id=message_id)


def _failed(request_id: str, reason: str, error_code: str, ses_message_id: str | None = None) -> None:
    logger.error(
        "staff_alert_failed",
        request_id=request_id,
        reason=reason,
        error_code=error_code,
        ses_message_id=ses_message_id,
    )
    metrics.add_metric(name="StaffAlertFailed", unit=MetricUnit.Count, value=1)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    batch = _Batch(settings=get_settings())
    response = process_partial_response(
        event=event, record_handler=batch, processor=_processor, context=context
    )
    logger.info("stream_batch_done", extra={"records": len(event.get("Records", [])), **batch.outcomes})
    return response
