"""Scheduled entry point: the digest of overdue requests (office days, 8:00 and 13:00 office time).

EventBridge Scheduler invokes it with ``{"scheduled_time": "<aws.scheduler.scheduled-time>"}``; a
manual run (``make digest``) may pass its own ``scheduled_time`` or none (now). Event in, one logic
call, done: ``overdue.send_overdue_digest``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from callbacks.observability import logger, metrics
from callbacks.overdue import send_overdue_digest
from callbacks.settings import get_settings


def _moment(event: dict[str, Any]) -> datetime:
    value = event.get("scheduled_time") if isinstance(event, dict) else None
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            logger.warning("digest_scheduled_time_unreadable")
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return {"listed": send_overdue_digest(_moment(event), get_settings())}
