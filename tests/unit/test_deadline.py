"""The call-back deadline: office days, holidays, daylight saving, each best time, the sentence."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from callbacks.core import deadline
from callbacks.core.deadline import OfficeCalendar, call_by, call_by_text
from callbacks.core.settings import settings_from_environment
from callbacks.models.choices import BestTime
from callbacks.models.record import deadline_text
from infra.tools import holidays_table
from tests.conftest import TEST_ENV, deployment_settings

CHICAGO = ZoneInfo("America/Chicago")
WEEKDAYS = OfficeCalendar()


def at(text: str) -> datetime:
    """A moment on Tupelo's wall clock, e.g. ``2026-11-24 08:00``."""
    return datetime.fromisoformat(text).replace(tzinfo=CHICAGO)


def deadline_of(
    received: str, best_time: BestTime = BestTime.ANYTIME, calendar: OfficeCalendar = WEEKDAYS
) -> str:
    return deadline_text(call_by(at(received), best_time, calendar))


@pytest.mark.parametrize(
    ("best_time", "expected"),
    [
        (BestTime.MORNING, "2026-12-01T12:00:00-06:00"),
        (BestTime.AFTERNOON, "2026-12-01T17:00:00-06:00"),
        (BestTime.EVENING, "2026-12-01T19:00:00-06:00"),
        (BestTime.ANYTIME, "2026-12-01T17:00:00-06:00"),
    ],
)
def test_given_an_early_request_on_an_office_day_then_the_deadline_is_the_end_of_its_window_that_day(
    best_time: BestTime, expected: str
) -> None:
    assert deadline_of("2026-12-01 07:00", best_time) == expected


def test_given_a_window_ending_exactly_an_hour_later_then_it_is_still_that_day() -> None:
    assert deadline_of("2026-12-01 11:00", BestTime.MORNING) == "2026-12-01T12:00:00-06:00"


def test_given_a_window_ending_in_under_an_hour_then_the_next_office_day() -> None:
    assert deadline_of("2026-12-01 11:01", BestTime.MORNING) == "2026-12-02T12:00:00-06:00"
    assert deadline_of("2026-12-01 18:30", BestTime.EVENING) == "2026-12-02T19:00:00-06:00"


def test_given_a_request_after_hours_then_the_next_office_day() -> None:
    assert deadline_of("2026-12-01 22:15", BestTime.MORNING) == "2026-12-02T12:00:00-06:00"
    # Just after midnight is the same calendar day, and early enough for it.
    assert deadline_of("2026-12-02 00:05", BestTime.AFTERNOON) == "2026-12-02T17:00:00-06:00"


def test_given_a_friday_evening_or_a_weekend_then_monday() -> None:
    assert deadline_of("2026-12-04 17:30") == "2026-12-07T17:00:00-06:00"  # Friday, too late
    assert deadline_of("2026-12-05 09:00", BestTime.MORNING) == "2026-12-07T12:00:00-06:00"  # Saturday
    assert deadline_of("2026-12-06 23:59", BestTime.EVENING) == "2026-12-07T19:00:00-06:00"  # Sunday


def test_given_thanksgiving_then_the_day_after_it() -> None:
    # Wednesday afternoon too late; Thursday November 26, 2026 is Thanksgiving.
    assert deadline_of("2026-11-25 16:30", BestTime.AFTERNOON) == "2026-11-27T17:00:00-06:00"


def test_given_a_request_on_a_holiday_then_the_next_office_day() -> None:
    # Monday January 19, 2026: Martin Luther King Jr. Day.
    assert deadline_of("2026-01-19 09:00", BestTime.MORNING) == "2026-01-20T12:00:00-06:00"


def test_given_a_saturday_holiday_then_its_observed_friday_is_closed_too() -> None:
    # July 4, 2026 is a Saturday: observed Friday July 3. Thursday evening -> Monday July 6.
    assert deadline_of("2026-07-02 18:00") == "2026-07-06T17:00:00-05:00"
    assert not deadline.is_office_day(date(2026, 7, 3), WEEKDAYS)


def test_given_a_sunday_holiday_then_its_observed_monday_is_closed() -> None:
    # Christmas 2033 is a Sunday: observed Monday December 26.
    assert deadline_of("2033-12-23 17:30") == "2033-12-27T17:00:00-06:00"


def test_given_the_spring_daylight_saving_change_then_office_time_is_kept_with_the_new_offset() -> None:
    # Sunday March 8, 2026, 2:00 CST -> 3:00 CDT. Friday evening too late -> Monday 19:00 CDT.
    assert deadline_of("2026-03-06 18:30", BestTime.EVENING) == "2026-03-09T19:00:00-05:00"
    assert deadline_of("2026-03-06 08:00", BestTime.MORNING) == "2026-03-06T12:00:00-06:00"


def test_given_the_autumn_daylight_saving_change_then_office_time_is_kept_with_the_new_offset() -> None:
    # Sunday November 1, 2026, 2:00 CDT -> 1:00 CST.
    assert deadline_of("2026-10-30 18:00", BestTime.EVENING) == "2026-10-30T19:00:00-05:00"
    assert deadline_of("2026-10-30 20:00", BestTime.EVENING) == "2026-11-02T19:00:00-06:00"
    # The repeated hour of the change itself (01:30 happens twice) still lands on Monday.
    first = datetime(2026, 11, 1, 1, 30, tzinfo=CHICAGO, fold=0)
    second = datetime(2026, 11, 1, 1, 30, tzinfo=CHICAGO, fold=1)
    for moment in (first, second):
        assert deadline_text(call_by(moment, BestTime.MORNING, WEEKDAYS)) == "2026-11-02T12:00:00-06:00"


def test_given_a_request_stamped_in_utc_then_the_office_day_is_tupelos() -> None:
    # 03:00 UTC on Wednesday is still Tuesday 21:00 in Tupelo: too late, so Wednesday noon.
    received = datetime.fromisoformat("2026-12-02T03:00:00+00:00")
    assert deadline_text(call_by(received, BestTime.MORNING, WEEKDAYS)) == "2026-12-02T12:00:00-06:00"


def test_given_an_office_open_on_saturdays_then_saturday_counts() -> None:
    six_days = OfficeCalendar(days=("mon", "tue", "wed", "thu", "fri", "sat"))
    assert deadline_of("2026-12-05 09:00", BestTime.MORNING, six_days) == "2026-12-05T12:00:00-06:00"


def test_given_another_time_zone_setting_then_its_wall_clock_is_used() -> None:
    eastern = OfficeCalendar(time_zone="America/New_York")
    received = datetime.fromisoformat("2026-12-01T12:30:00-05:00")
    assert deadline_text(call_by(received, BestTime.AFTERNOON, eastern)) == "2026-12-01T17:00:00-05:00"


@pytest.mark.parametrize(
    ("deadline_iso", "sentence"),
    [
        ("2026-11-24T12:00:00-06:00", "We will call you by Tuesday, November 24 at noon."),
        ("2026-11-27T17:00:00-06:00", "We will call you by Friday, November 27 at 5 pm."),
        ("2026-07-06T19:00:00-05:00", "We will call you by Monday, July 6 at 7 pm."),
    ],
)
def test_given_a_deadline_then_the_visitor_reads_it_as_a_sentence(deadline_iso: str, sentence: str) -> None:
    assert call_by_text(datetime.fromisoformat(deadline_iso)) == sentence


def test_given_the_pinned_library_then_the_shipped_holiday_table_is_what_it_computes() -> None:
    shipped = json.loads(
        (holidays_table.OUT).read_text(encoding="utf-8"),
    )
    assert shipped == holidays_table.table(), "stale: run `make holidays`"


def test_given_a_year_beyond_the_shipped_table_then_the_library_decides() -> None:
    _, last, _ = deadline._holiday_table()
    assert date.today().year + 10 <= last
    assert deadline.is_federal_holiday(date(last + 5, 7, 4))
    assert not deadline.is_federal_holiday(date(last + 5, 7, 7))


def test_given_office_days_in_the_environment_then_they_are_read_in_any_case_and_unknown_ones_refused() -> (
    None
):
    assert settings_from_environment(TEST_ENV | {"OFFICE_DAYS": "Mon, tue,WED"}).office_days == (
        "mon",
        "tue",
        "wed",
    )
    with pytest.raises(ValueError, match="office days"):
        settings_from_environment(TEST_ENV | {"OFFICE_DAYS": "mon,funday"})
    with pytest.raises(ValueError, match="time zone"):
        settings_from_environment(TEST_ENV | {"OFFICE_TIME_ZONE": "America/Tupelo"})
    assert deadline.office_calendar(deployment_settings()) == WEEKDAYS
