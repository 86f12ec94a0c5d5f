"""SES event entry point: bounces, complaints, rejections and delays of the staff alerts.

The configuration set publishes these events to EventBridge's default bus; a rule sends those of
our configuration set here. Each is adapted to ``alerting.record_delivery_problem``: a metric per
kind and a log line with ids only (the request id travels as the message's ``request_id`` tag).
No address from the event is ever logged.
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from callbacks.core.observability import logger, metrics
from callbacks.core.settings import require
from callbacks.logic.alerting import DeliveryProblem, record_delivery_problem
from callbacks.models.email import REQUEST_ID_TAG

# Beyond the table and the origins, what this entry point needs set; on Lambda, checked at cold start.
REQUIRED_SETTINGS: tuple[str, ...] = ()
require(*REQUIRED_SETTINGS)

Kind = Literal["bounce", "complaint", "reject", "delivery_delay"]
# SES's eventType -> our kind, and where SES puts its classification of the event.
_KINDS: dict[str, tuple[Kind, str, str]] = {
    "Bounce": ("bounce", "bounce", "bounceType"),
    "Complaint": ("complaint", "complaint", "complaintFeedbackType"),
    "Reject": ("reject", "reject", "reason"),
    "DeliveryDelay": ("delivery_delay", "deliveryDelay", "delayType"),
}
_RECIPIENTS = {
    "bounce": "bouncedRecipients",
    "complaint": "complainedRecipients",
    "delivery_delay": "delayedRecipients",
}


def delivery_problem(detail: dict[str, Any]) -> DeliveryProblem | None:
    """The problem an SES event reports, or None for an event of another type."""
    known = _KINDS.get(str(detail.get("eventType", "")))
    if known is None:
        return None
    kind, section_name, detail_field = known
    section = detail.get(section_name) or {}
    mail = detail.get("mail") or {}
    tags = mail.get("tags") or {}
    request_ids = tags.get(REQUEST_ID_TAG) or [None]
    recipients = section.get(_RECIPIENTS.get(kind, ""), None)
    classification = section.get(detail_field)
    if kind == "bounce" and section.get("bounceSubType"):
        classification = f"{classification}/{section['bounceSubType']}"
    return DeliveryProblem(
        kind=kind,
        ses_message_id=mail.get("messageId"),
        request_id=request_ids[0],
        detail=str(classification) if classification else None,
        recipients=len(recipients) if isinstance(recipients, list) else len(mail.get("destination") or []),
    )


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> None:
    problem = delivery_problem(dict(event.detail or {}))
    if problem is None:
        logger.info("delivery_event_ignored", detail_type=event.detail_type)
        return
    record_delivery_problem(problem)
