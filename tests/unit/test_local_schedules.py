"""The local scheduler fires the template's schedules when EventBridge Scheduler would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.local.schedules import Schedule, Scheduler
from infra.local.template import schedule_specs


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def digest_schedule() -> Schedule:
    [schedule] = [s for s in schedule_specs() if s.function == "DigestFunction"]
    return schedule


def test_given_the_templates_digest_schedule_then_it_fires_at_8_and_13_office_time() -> None:
    schedule = digest_schedule()

    assert schedule.time_zone == "America/Chicago"
    assert schedule.next_after(utc("2026-12-01T13:59:00")) == utc("2026-12-01T14:00:00")  # 8:00 CST
    assert schedule.next_after(utc("2026-12-01T14:00:00")) == utc("2026-12-01T19:00:00")  # 13:00 CST
    assert schedule.next_after(utc("2026-12-01T19:00:00")) == utc("2026-12-02T14:00:00")


def test_given_daylight_saving_then_it_keeps_office_time() -> None:
    # Sunday March 8, 2026: 8:00 is CDT (13:00 UTC), the day before CST (14:00 UTC).
    schedule = digest_schedule()

    assert schedule.next_after(utc("2026-03-07T19:00:00")) == utc("2026-03-08T13:00:00")


def test_given_weekday_names_and_ranges_then_only_those_days() -> None:
    weekdays = Schedule("F", "cron(30 7 ? * MON-FRI *)", "America/Chicago", "{}")

    # Friday December 4, 2026 07:30 CST fired; the next is Monday December 7.
    assert weekdays.next_after(utc("2026-12-04T13:30:00")) == utc("2026-12-07T13:30:00")


def test_given_a_firing_then_the_event_carries_its_scheduled_time_and_fires_once() -> None:
    calls: list[tuple[str, Any]] = []
    now = [utc("2026-12-01T13:59:30")]
    scheduler = Scheduler(
        [digest_schedule()], lambda name, event: calls.append((name, event)), lambda: now[0]
    )

    assert scheduler.fire_due() == 0
    now[0] = utc("2026-12-01T14:00:02")
    assert scheduler.fire_due() == 1
    assert scheduler.fire_due() == 0

    assert calls == [("DigestFunction", {"scheduled_time": "2026-12-01T14:00:00Z"})]


def test_given_the_templates_weekly_summary_schedule_then_mondays_at_7_30_office_time_across_dst() -> None:
    [schedule] = [s for s in schedule_specs() if s.function == "WeeklySummaryFunction"]

    assert schedule.time_zone == "America/Chicago"
    # Daylight saving ends Sunday Nov 1, 2026: 7:30 is 12:30 UTC (CDT) before it, 13:30 UTC after.
    assert schedule.next_after(utc("2026-10-21T00:00:00")) == utc("2026-10-26T12:30:00")
    assert schedule.next_after(utc("2026-10-26T12:30:00")) == utc("2026-11-02T13:30:00")
    # Its event's scheduled time is what the function summarizes the week before of.
    assert schedule.event(utc("2026-11-30T13:30:00")) == {"scheduled_time": "2026-11-30T13:30:00Z"}


def test_given_steps_ranges_and_rates_then_they_fire_as_eventbridge_reads_them() -> None:
    quarters = Schedule("F", "cron(0/15 9-10 ? * MON-FRI *)", "UTC", "{}")
    every_five_minutes = Schedule("F", "rate(5 minutes)", "UTC", "{}")

    # Friday December 4, 2026: after 10:45 the next quarter is Monday's first.
    assert quarters.next_after(utc("2026-12-04T10:50:00")) == utc("2026-12-07T09:00:00")
    assert quarters.next_after(utc("2026-12-07T09:00:00")) == utc("2026-12-07T09:15:00")
    assert every_five_minutes.next_after(utc("2026-12-01T00:00:30")) == utc("2026-12-01T00:05:30")
