"""The practice's office: the number a visitor can always call, and the time zone its staff keep."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

OFFICE_PHONE = "662-377-6290"
OFFICE_PHONE_E164 = "+16623776290"
OFFICE_TIME_ZONE = "America/Chicago"  # Tupelo, Mississippi
# How the settings name office days (OFFICE_DAYS=mon,tue,wed,thu,fri), in date.weekday() order.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Spelled out here rather than by strftime, which follows the process's locale.
SHORT_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
SHORT_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_date(day: date) -> str:
    """Mon, Nov 23."""
    return f"{SHORT_DAYS[day.weekday()]}, {SHORT_MONTHS[day.month - 1]} {day.day}"


def office_time(moment: datetime, time_zone: str) -> str:
    """Mon, Nov 23, 2026 at 1:23 PM CST: in the office's time zone (the deployment's
    ``OfficeTimeZone``) with its abbreviation, whatever the server's locale."""
    try:
        local = moment.astimezone(ZoneInfo(time_zone))
    except ZoneInfoNotFoundError:  # no time zone database: an alert in UTC beats no alert
        local = moment.astimezone(UTC)
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return f"{short_date(local.date())}, {local.year} at {hour}:{local.minute:02d} {half} {local.tzname()}"


def week_of(moment: datetime, time_zone: str) -> date:
    """The Monday of the office week holding ``moment``: weeks run Monday 00:00 to Sunday 24:00 in
    the office's time zone, whatever the offset (a daylight-saving week has 167 or 169 hours).

    The weekly summary's index is keyed by it (``week``, an ISO date such as ``2026-11-23``).
    """
    local = moment.astimezone(ZoneInfo(time_zone)).date()
    return local - timedelta(days=local.weekday())
