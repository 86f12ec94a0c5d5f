"""What the scheduled entry points share: the moment a schedule fired, read from its event.

EventBridge Scheduler invokes them with ``{"scheduled_time": "<aws.scheduler.scheduled-time>"}``;
a manual run (``make digest``, ``make summary``) may pass its own ``scheduled_time`` or none (now).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from callbacks.core.observability import logger
from callbacks.models.record import parse_timestamp


def scheduled_moment(event: Any) -> datetime:
    """The event's ``scheduled_time`` (aware; a naive one is UTC), or now when it has none."""
    value = event.get("scheduled_time") if isinstance(event, dict) else None
    if isinstance(value, str) and value:
        try:
            return parse_timestamp(value)
        except ValueError:
            logger.warning("scheduled_time_unreadable")
    return datetime.now(UTC)
