"""What every email to the office shares: the words for each choice, the templates, the deadline
as people read it, and the rule for linking a source page.

Render only: no I/O beyond reading the package's own templates.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib import resources
from string import Template
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from callbacks.core import deadline
from callbacks.core.office import SHORT_DAYS, SHORT_MONTHS
from callbacks.models.choices import BestTime, Interest

# How the email (and the form's snippet, which a test holds to these) names each choice.
BEST_TIME_LABELS = {
    BestTime.MORNING: "Morning (8 am - noon)",
    BestTime.AFTERNOON: "Afternoon (noon - 5 pm)",
    BestTime.EVENING: "Evening (5 pm - 7 pm)",
    BestTime.ANYTIME: "Any time",
}
INTEREST_LABELS = {
    Interest.FRACTIONAL_CO2_LASER: "Fractional CO2 laser resurfacing",
    Interest.WRINKLES_FINE_LINES: "Wrinkles and fine lines",
    Interest.SUN_SPOTS_DISCOLORATION: "Sun spots and discoloration",
    Interest.SCARS_BURNS: "Scars and burns",
    Interest.STRETCH_MARKS: "Stretch marks",
    Interest.OTHER: "Something else",
    Interest.NOT_SURE: "Not sure yet",
}
# A request without an interest: the visitor chose none, and none is made up for them.
INTEREST_NOT_SPECIFIED = "Not specified"
NOT_OURS = "(not the practice's site)"


@cache
def template(name: str) -> Template:
    """An email's HTML template from ``templates/`` (read once per process)."""
    text = resources.files("callbacks").joinpath("templates", name).read_text(encoding="utf-8")
    return Template(text)


def short_deadline(call_by: datetime, time_zone: str) -> str:
    """Tue Nov 24, noon: the deadline as the subject line shows it, in the office's time."""
    moment = call_by.astimezone(ZoneInfo(time_zone))
    day = f"{SHORT_DAYS[moment.weekday()]} {SHORT_MONTHS[moment.month - 1]} {moment.day}"
    return f"{day}, {deadline.clock(moment)}"


def long_deadline(call_by: datetime, time_zone: str) -> str:
    """Tuesday, November 24 at noon CST: in the office's time, with its abbreviation."""
    moment = call_by.astimezone(ZoneInfo(time_zone))
    return f"{deadline.long_date(moment)} at {deadline.clock(moment)} {moment.tzname()}"


def practice_page_link(url: str | None, allowed_origins: tuple[str, ...]) -> str | None:
    """``url`` when it is a page of the practice's own site (an allowed origin), else None.

    Anyone can post any page address: a foreign one is shown as text, never as a link to click.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    return url if origin in {allowed.lower() for allowed in allowed_origins} else None
