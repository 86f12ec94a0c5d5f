"""The digest of overdue requests: one email to the office listing every request still open past
its deadline, oldest first, each with a fresh mark-as-called link. Nothing when none is overdue.

The logic of the scheduled entry point (digest.py); it never sees an event or the environment.
"""

from __future__ import annotations

from datetime import datetime

from aws_lambda_powertools.metrics import MetricUnit

from callbacks import deadline, follow_up, mailer, store
from callbacks.observability import logger, metrics
from callbacks.settings import Settings


def overdue(now: datetime) -> list[mailer.OverdueRequest]:
    """Every request still open whose deadline has passed, oldest deadline first."""
    return [
        mailer.OverdueRequest(
            id=item.id,
            created_at=item.created_at,
            best_time=item.best_time,
            call_by=item.call_by,
            late_by=now - deadline.parse(item.call_by),
        )
        for item in store.open_requests_due_before(now)
    ]


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
    links = {item.id: follow_up.mark_called_url(item.id, settings, now) for item in late}
    digest = mailer.render_overdue_digest(late, links, now)
    message_id = mailer.send_office_email(digest, settings)
    metrics.add_metric(name="OverdueDigestSent", unit=MetricUnit.Count, value=1)
    logger.info("overdue_digest_sent", requests=len(late), ses_message_id=message_id)
    return len(late)
