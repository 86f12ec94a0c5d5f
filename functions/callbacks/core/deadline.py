"""The call-back deadline: when the office promises to have called, from when a request arrived.

``call_by`` is the end of the visitor's best-time window (office time) on the first office day on
which that window still ends at least an hour after the request arrived. Office days are weekdays
from the settings, less US federal holidays (with their observed days) as the ``holidays`` library
computes them. Pure: no event, no environment, no clock; the caller passes the moment.

The holidays come from ``us_holidays.json``, generated from the pinned ``holidays`` library by
``make holidays`` (a unit test holds the file to the library). Importing the library costs about
0.6 s, which a visitor would wait through on every cold start; years outside the file fall back
to the library itself, imported then.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import NamedTuple
from zoneinfo import ZoneInfo

from callbacks.core.office import OFFICE_TIME_ZONE, WEEKDAYS
from callbacks.core.settings import Settings
from callbacks.models.choices import BestTime

# Where each best-time window ends, in office time.
WINDOW_ENDS = {
    BestTime.MORNING: time(12, 0),
    BestTime.AFTERNOON: time(17, 0),
    BestTime.EVENING: time(19, 0),
    BestTime.ANYTIME: time(17, 0),
}
# A window that ends sooner than this after the request arrived is too close to promise.
LEAD_TIME = timedelta(hours=1)
HOLIDAYS_FILE = "us_holidays.json"
# Spelled out here rather than by strftime, which follows the process's locale.
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# No office is closed this long; a calendar that never opens is a configuration error.
_SEARCH_DAYS = 400


class OfficeCalendar(NamedTuple):
    """The office's days and time zone (from the settings)."""

    time_zone: str = OFFICE_TIME_ZONE
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)


def office_calendar(settings: Settings) -> OfficeCalendar:
    return OfficeCalendar(time_zone=settings.office_time_zone, days=settings.office_days)


@cache
def _holiday_table() -> tuple[int, int, frozenset[date]]:
    data = json.loads(resources.files("callbacks.core").joinpath(HOLIDAYS_FILE).read_text(encoding="utf-8"))
    first, last = data["years"]
    return int(first), int(last), frozenset(date.fromisoformat(day) for day in data["dates"])


@cache
def _library_holidays(year: int) -> frozenset[date]:
    from holidays.countries.united_states import UnitedStates

    return frozenset(UnitedStates(years=year))  # type: ignore[no-untyped-call]


def is_federal_holiday(day: date) -> bool:
    first, last, table = _holiday_table()
    if first <= day.year <= last:
        return day in table
    return day in _library_holidays(day.year)


def is_office_day(day: date, calendar: OfficeCalendar) -> bool:
    if WEEKDAYS[day.weekday()] not in calendar.days:
        return False
    return not is_federal_holiday(day)


def call_by(received_at: datetime, best_time: BestTime, calendar: OfficeCalendar) -> datetime:
    """The deadline of a request received at ``received_at`` (aware), in the office's time zone."""
    zone = calendar.zone
    arrived = received_at.astimezone(UTC)
    day = arrived.astimezone(zone).date()
    for _ in range(_SEARCH_DAYS):
        if is_office_day(day, calendar):
            # Built from the wall clock, so 12:00 stays 12:00 across a daylight-saving change.
            end = datetime.combine(day, WINDOW_ENDS[best_time], tzinfo=zone)
            # Compared in UTC: aware datetimes sharing a tzinfo subtract by wall clock.
            if end.astimezone(UTC) - arrived >= LEAD_TIME:
                return end
        day += timedelta(days=1)
    raise ValueError("the office calendar has no office day within a year")


def clock(moment: datetime) -> str:
    """noon, 5 pm, 7:30 pm."""
    if moment.hour == 12 and moment.minute == 0:
        return "noon"
    hour = moment.hour % 12 or 12
    minutes = f":{moment.minute:02d}" if moment.minute else ""
    return f"{hour}{minutes} {'am' if moment.hour < 12 else 'pm'}"


def long_date(moment: datetime) -> str:
    """Tuesday, November 24 (the office's wall clock as ``moment`` carries it)."""
    return f"{_DAY_NAMES[moment.weekday()]}, {_MONTH_NAMES[moment.month - 1]} {moment.day}"


def call_by_text(deadline: datetime) -> str:
    """The visitor's sentence: ``We will call you by Tuesday, November 24 at noon.``"""
    return f"We will call you by {long_date(deadline)} at {clock(deadline)}."


def minutes_to_call_back(created_at: datetime, contacted_at: datetime) -> int:
    """Time to call back: ``contacted_at - created_at``, rounded to the nearest minute (half up)."""
    return math.floor((contacted_at - created_at).total_seconds() / 60 + 0.5)


def called_by_deadline(call_by: datetime | None, contacted_at: datetime) -> bool:
    """``contacted_at <= call_by``; a request stored before deadlines existed was never on time."""
    return call_by is not None and contacted_at <= call_by
