"""The office's week in numbers: the weekly summary of how fast every request was called back.

Mondays at 7:30 office time, for the week before (Monday 00:00 to Sunday 24:00 in the office's
time zone): the requests received that week, how many were called and how many by their deadline,
how many are still open now, the median and 90th-percentile time to call back, the requests per
day, by best time and by source page, and the week before's figures beside them. References only.

The logic of the scheduled entry point (weekly_summary.py); it never sees an event or the
environment. It reads two weeks of the ``by-week`` index, never a scan.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit

from callbacks.adapters import ses, store
from callbacks.core import deadline
from callbacks.core.observability import logger, metrics
from callbacks.core.office import week_of
from callbacks.core.settings import Settings
from callbacks.emails.layout import practice_page_link
from callbacks.emails.weekly_summary import render_weekly_summary
from callbacks.models.choices import BestTime
from callbacks.models.record import reference
from callbacks.models.week import PageCount, WeekFigures, WeekRequest

# The source pages the summary names one by one; the rest are counted together.
TOP_PAGES = 8
NO_PAGE = "Not given"


def percentile(values: Sequence[float], share: float) -> float | None:
    """The ``share`` (0-1) percentile of ``values`` by linear interpolation between ranks.

    The definition of numpy's default and of spreadsheets' PERCENTILE.INC: the median of two
    values is their mean, and one value is every percentile of itself. None for no values.
    """
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def week_to_summarize(now: datetime, settings: Settings) -> date:
    """The Monday of the last whole office week before ``now``: on Monday 7:30, last Monday."""
    return week_of(now, settings.office_time_zone) - timedelta(days=7)


def _page(url: str | None, settings: Settings) -> tuple[str, bool]:
    if not url:
        return NO_PAGE, False
    if practice_page_link(url, settings.allowed_origins):
        return urlsplit(url).path or "/", False  # the www twin and the apex count as one page
    return url, True


def _by_page(requests: Sequence[WeekRequest], settings: Settings) -> tuple[PageCount, ...]:
    counts = Counter(_page(request.source_url, settings) for request in requests)
    ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))
    pages = [PageCount(label, count, off_site) for (label, off_site), count in ranked]
    if len(pages) <= TOP_PAGES:
        return tuple(pages)
    rest = pages[TOP_PAGES - 1 :]
    return (*pages[: TOP_PAGES - 1], PageCount(f"{len(rest)} other pages", sum(p.count for p in rest)))


def week_figures(start: date, requests: Sequence[WeekRequest], settings: Settings) -> WeekFigures:
    """The figures of the week starting ``start`` from the requests made in it."""
    zone = ZoneInfo(settings.office_time_zone)
    minutes: list[float] = []
    on_time = 0
    per_day = [0] * 7
    for request in requests:
        created = request.created_at
        offset = (created.astimezone(zone).date() - start).days
        if 0 <= offset < 7:  # the index's key decides the week; the guard keeps a bad item harmless
            per_day[offset] += 1
        if request.status == "contacted" and request.contacted_at:
            contacted = request.contacted_at
            minutes.append(deadline.minutes_to_call_back(created, contacted))
            on_time += deadline.called_by_deadline(request.call_by, contacted)
    best_times = Counter(request.best_time for request in requests)
    return WeekFigures(
        start=start,
        received=len(requests),
        called=len(minutes),
        called_by_deadline=on_time,
        still_open=sum(request.status != "contacted" for request in requests),
        median_minutes=percentile(minutes, 0.5),
        p90_minutes=percentile(minutes, 0.9),
        per_day=tuple(per_day),
        by_best_time=tuple((choice, best_times[choice]) for choice in BestTime if best_times[choice]),
        by_page=_by_page(requests, settings),
        open_references=tuple(reference(r.id) for r in requests if r.status != "contacted"),
    )


def summarize_week(start: date, settings: Settings) -> WeekFigures:
    """One week's figures, read from the ``by-week`` index (one query a page)."""
    return week_figures(start, store.requests_of_week(start.isoformat()), settings)


def send_weekly_summary(now: datetime, settings: Settings) -> WeekFigures:
    """Email the office the last whole week's figures beside the week before's; always one email.

    The schedule fires on Mondays at 7:30 office time, and the function trusts it: run on any other
    day (a manual run), it summarizes the last whole week all the same.
    """
    start = week_to_summarize(now, settings)
    week = summarize_week(start, settings)
    before = summarize_week(start - timedelta(days=7), settings)
    message = render_weekly_summary(week, before, now, settings.office_time_zone)
    message_id = ses.send_office_email(message, settings)
    metrics.add_metric(name="WeeklySummarySent", unit=MetricUnit.Count, value=1)
    logger.info(
        "weekly_summary_sent",
        week=start.isoformat(),
        received=week.received,
        called=week.called,
        still_open=week.still_open,
        ses_message_id=message_id,
    )
    return week
