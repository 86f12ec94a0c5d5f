"""The digest of overdue requests: one email to the office listing every request still open past
its deadline, oldest first (by deadline, then by arrival), each with a fresh mark-as-called link.
Nothing when none is overdue.

The logic of the scheduled entry point (digest.py); it never sees an event or the environment.
"""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit

from callbacks.adapters import ses, store
from callbacks.core import deadline
from callbacks.core.observability import logger, metrics
from callbacks.core.settings import Settings
from callbacks.emails.digest import render_overdue_digest
from callbacks.logic import follow_up
from callbacks.models.record import OpenRequest


def overdue(now: datetime) -> list[OpenRequest]:
    """Every request still open whose deadline has passed, oldest first: by deadline, then by
    arrival (the index orders by deadline only; requests that share one come back in any order)."""
    return sorted(store.open_requests_due_before(now), key=lambda item: (item.call_by, item.created_at))


def send_overdue_digest(now: datetime, settings: Settings) -> int:
    """Email the office one list of the overdue requests, each with a fresh link; 0 sends nothing.

    Not on a day the office is closed (a weekend, a holiday): the next office morning's digest has
    them all. Returns how many requests the email listed.
    """
    calendar = deadline.office_calendar(settings)
    if not deadline.is_office_day(now.astimezone(calendar.zone).date(), calendar):
        logger.info("overdue_digest_skipped", reason="not_an_office_day")
        return 0
    late = overdue(now)
    metrics.add_metric(name="OverdueRequests", unit=MetricUnit.Count, value=len(late))
    if not late:
        logger.info("overdue_digest_not_needed")
        return 0
    # Without the signing secret the list still goes out, without its links (as alerts do).
    links = {item.id: follow_up.mark_called_url_or_none(item.id, settings, now) for item in late}
    digest = render_overdue_digest(late, links, now, settings.office_time_zone)
    message_id = ses.send_office_email(digest, settings)
    metrics.add_metric(name="OverdueDigestSent", unit=MetricUnit.Count, value=1)
    logger.info("overdue_digest_sent", requests=len(late), ses_message_id=message_id)
    return len(late)
