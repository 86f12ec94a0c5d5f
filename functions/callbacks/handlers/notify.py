"""Stream entry point: the table's stream adapted, record by record, to ``alerting.alert_staff``.

Lambda feeds this function the table's stream (INSERTs of ``request#`` items) and reads
``batchItemFailures`` back. A failed record is retried from its sequence number onwards, so once a
record of a batch fails, the later ones are reported failed without being sent: they come back in
the retry, and sending them now would send them twice. A record is only started when the time
left covers its worst case (``alerting.worst_case_alert_seconds``); otherwise it waits for the retry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import (
    DynamoDBRecord,
    DynamoDBRecordEventName,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from callbacks.core.observability import logger, metrics
from callbacks.core.settings import Settings, get_settings, require
from callbacks.logic.alerting import (
    SPARE_SECONDS,
    AlertNotSentError,
    alert_failed,
    alert_staff,
    announced_request,
    request_id_of,
    worst_case_alert_seconds,
)
from callbacks.models.record import StoredCallbackRequest

# Beyond the table and the origins, what this entry point needs set; on Lambda, checked at cold start.
REQUIRED_SETTINGS: tuple[str, ...] = ("sender_email", "office_emails", "api_base_url")
require(*REQUIRED_SETTINGS)

_processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)


class SkippedAfterEarlierFailureError(AlertNotSentError):
    """Not attempted: an earlier record of this batch failed, and Lambda resends from there."""


class OutOfTimeError(SkippedAfterEarlierFailureError):
    """Not attempted: too little of the invocation is left for this record's worst case."""


def _new_request(record: DynamoDBRecord) -> StoredCallbackRequest | None:
    """The request a record announces, or None for anything that is not a new request."""
    stream = record.dynamodb
    if record.event_name is not DynamoDBRecordEventName.INSERT or stream is None:
        return None
    try:
        return announced_request(str(stream.keys.get("pk", "")), stream.new_image)
    except Exception:  # a validation error quotes the stored values: say nothing of them
        logger.error("stored_request_unreadable", sequence_number=stream.sequence_number)
        metrics.add_metric(name="StaffAlertFailed", unit=MetricUnit.Count, value=1)
        raise AlertNotSentError("stored request unreadable") from None


def _request_id_of(record: DynamoDBRecord) -> str:
    pk = str(record.dynamodb.keys.get("pk", "")) if record.dynamodb else ""
    return request_id_of(pk)


@dataclass
class _Batch:
    """One invocation's records, in stream order."""

    settings: Settings
    seconds_left: Callable[[], float]
    failed: bool = False
    outcomes: dict[str, int] = field(default_factory=dict)

    def __call__(self, record: DynamoDBRecord) -> str:
        if self.failed:
            self._count("deferred")
            raise SkippedAfterEarlierFailureError("skipped after an earlier failure in this batch")
        if self.seconds_left() < worst_case_alert_seconds() + SPARE_SECONDS:
            self.failed = True
            self._count("deferred")
            raise OutOfTimeError("too little time left in this invocation")
        try:
            request = _new_request(record)
            outcome = "ignored" if request is None else alert_staff(request, self.settings)
        except AlertNotSentError:
            self.failed = True
            self._count("failed")
            raise
        except Exception as error:  # a bug, not an outage: still only this record and the later ones
            self.failed = True
            self._count("failed")
            alert_failed(_request_id_of(record), "unexpected", type(error).__name__)
            raise AlertNotSentError(f"unexpected {type(error).__name__}") from None
        self._count(outcome)
        return outcome

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    batch = _Batch(
        settings=get_settings(), seconds_left=lambda: context.get_remaining_time_in_millis() / 1000
    )
    response = process_partial_response(
        event=event, record_handler=batch, processor=_processor, context=context
    )
    logger.info("stream_batch_done", extra={"records": len(event.get("Records", [])), **batch.outcomes})
    return response
