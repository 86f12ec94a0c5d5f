"""Scheduled entry point: the office's week in numbers (Mondays, 7:30 office time).

EventBridge Scheduler invokes it with ``{"scheduled_time": "<aws.scheduler.scheduled-time>"}``; a
manual run (``make summary``) may pass its own ``scheduled_time`` or none (now). It trusts its
schedule: whatever the day, it summarizes the last whole Monday-Sunday office week before that
moment. Event in, one logic call, done: ``office_week.send_weekly_summary``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from callbacks.core.observability import logger, metrics
from callbacks.core.settings import get_settings, require
from callbacks.handlers.scheduled import scheduled_moment
from callbacks.logic.office_week import send_weekly_summary

# Beyond the table and the origins, what this entry point needs set; on Lambda, checked at cold start.
REQUIRED_SETTINGS: tuple[str, ...] = ("sender_email", "office_emails")
require(*REQUIRED_SETTINGS)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    week = send_weekly_summary(scheduled_moment(event), get_settings())
    return {
        "week": week.start.isoformat(),
        "received": week.received,
        "called": week.called,
        "still_open": week.still_open,
    }
