"""Scheduled entry point: the digest of overdue requests (office days, 8:00 and 13:00 office time).

EventBridge Scheduler invokes it with ``{"scheduled_time": "<aws.scheduler.scheduled-time>"}``; a
manual run (``make digest``) may pass its own ``scheduled_time`` or none (now). Event in, one logic
call, done: ``overdue.send_overdue_digest``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from callbacks.core.observability import logger, metrics
from callbacks.core.settings import get_settings, require
from callbacks.handlers.scheduled import scheduled_moment
from callbacks.logic.overdue import send_overdue_digest

# Beyond the table and the origins, what this entry point needs set; on Lambda, checked at cold start.
REQUIRED_SETTINGS: tuple[str, ...] = ("sender_email", "office_emails", "api_base_url")
require(*REQUIRED_SETTINGS)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    return {"listed": send_overdue_digest(scheduled_moment(event), get_settings())}
