"""Every time a person reads is in the deployment's OfficeTimeZone, with that zone's abbreviation:
the staff email, the digest and the weekly summary of an office in New York show Eastern times only."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from callbacks.core import deadline
from callbacks.emails.digest import render_overdue_digest
from callbacks.emails.staff_alert import render_staff_alert
from callbacks.emails.weekly_summary import render_weekly_summary
from callbacks.logic.office_week import week_figures
from callbacks.models.choices import BestTime
from callbacks.models.email import OfficeEmail, StaffAlert
from callbacks.models.record import ConsentRecord, OpenRequest, StoredCallbackRequest
from callbacks.models.week import WeekRequest
from tests.conftest import deployment_settings
from tests.unit.test_staff_email import visible_text

NEW_YORK = deployment_settings(office_time_zone="America/New_York")
# Monday November 23, 2026, 9:30 in New York (8:30 in Tupelo).
RECEIVED = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
REQUEST_ID = "3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f"
CENTRAL = re.compile(r"\bC[SD]T\b")


def in_new_york(best_time: BestTime = BestTime.MORNING) -> datetime:
    return deadline.call_by(RECEIVED, best_time, deadline.office_calendar(NEW_YORK))


def read(email: StaffAlert | OfficeEmail) -> str:
    return email.subject + "\n" + email.text + "\n" + visible_text(email.html)


def test_given_an_office_in_new_york_then_the_staff_email_shows_eastern_times_only() -> None:
    request = StoredCallbackRequest(
        id=REQUEST_ID,
        created_at="2026-11-23T14:30:00.000Z",
        name="Jane Doe",
        phone="+16623776290",
        best_time=BestTime.MORNING,
        consent=ConsentRecord(agreed_at="2026-11-23T14:30:00.000Z"),
        expires_at=1_900_000_000,
        call_by=in_new_york(),
    )

    email = read(render_staff_alert(request, NEW_YORK))

    assert "Received: Mon, Nov 23, 2026 at 9:30 AM EST" in email
    assert "Call by: Monday, November 23 at noon EST" in email
    assert "by Mon Nov 23, noon" in email
    assert not CENTRAL.search(email)


def test_given_an_office_in_new_york_then_the_digest_shows_eastern_times_only() -> None:
    late = [OpenRequest(REQUEST_ID, RECEIVED, BestTime.MORNING, in_new_york())]
    now = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)  # Tuesday 8:00 in New York

    email = read(
        render_overdue_digest(late, {REQUEST_ID: "https://api.example/link"}, now, "America/New_York")
    )

    assert "overdue - Tue, Nov 24, 2026 at 8:00 AM EST" in email
    assert "Call by was: Monday, November 23 at noon EST" in email
    assert "Received: Mon, Nov 23, 2026 at 9:30 AM EST" in email
    assert "20 hours late" in email
    assert not CENTRAL.search(email)


@pytest.mark.parametrize("zone", ["America/New_York", "America/Chicago"])
def test_given_an_office_in_any_zone_then_the_weekly_summary_is_made_in_its_time(zone: str) -> None:
    settings = deployment_settings(office_time_zone=zone)
    week = date(2026, 11, 16)
    # Sunday 23:30 in New York is still Sunday there, and Sunday 22:30 in Tupelo.
    sunday_night = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)
    requests = [
        WeekRequest(
            "a" * 8, sunday_night, "new", BestTime.ANYTIME, sunday_night + timedelta(days=1), None, None
        )
    ]
    figures = week_figures(week, requests, settings)
    monday_730 = datetime(2026, 11, 23, 12, 30, tzinfo=UTC) if zone == "America/New_York" else None
    made = monday_730 or datetime(2026, 11, 23, 13, 30, tzinfo=UTC)

    email = read(
        render_weekly_summary(figures, week_figures(week - timedelta(days=7), [], settings), made, zone)
    )

    abbreviation = "EST" if zone == "America/New_York" else "CST"
    assert f"Made Mon, Nov 23, 2026 at 7:30 AM {abbreviation}." in email
    assert figures.per_day[-1] == 1  # counted on the office's own Sunday
    if zone == "America/New_York":
        assert not CENTRAL.search(email)
