"""The template's schedules (SAM ScheduleV2 events), fired locally the way EventBridge Scheduler
fires them: at each cron time in the schedule's own time zone, with the schedule's ``Input``
(``<aws.scheduler.scheduled-time>`` filled in) as the event.

EventBridge's ``cron(minutes hours day-of-month month day-of-week year)`` with ``*``, ``?``,
numbers, lists, ranges, steps and names is read here; python-dateutil's rrule (botocore's own
dependency) walks the calendar. ``rate(N unit)`` fires every N units.
"""

from __future__ import annotations

import json
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule

# Names of cron's day-of-week (EventBridge counts 1, Sunday, to 7) and month (1 to 12) fields.
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_RATE_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def _field(text: str, low: int, high: int, names: tuple[str, ...] = ()) -> list[int]:
    """The values one cron field allows: ``*``, ``?``, ``8,13``, ``MON-FRI``, ``0/15``."""

    def value(part: str) -> int:
        return names.index(part.upper()) + 1 if part.upper() in names else int(part)

    values: set[int] = set()
    for item in text.split(","):
        span, _, step = item.partition("/")
        first_text, _, last_text = span.partition("-")
        if span in ("*", "?", ""):
            first, last = low, high
        else:  # "8", "MON-FRI", and "0/15", which runs on to the field's end
            first = value(first_text)
            last = value(last_text) if last_text else (high if step else first)
        values.update(range(first, last + 1, int(step or 1)))
    return sorted(values)


@dataclass(frozen=True)
class Schedule:
    """One schedule of the template: which function, when, with what."""

    function: str
    expression: str
    time_zone: str
    input: str

    def next_after(self, moment: datetime) -> datetime:
        """The first firing strictly after ``moment`` (aware), in UTC."""
        kind, _, arguments = self.expression.strip().removesuffix(")").partition("(")
        if kind == "rate":
            amount, unit = arguments.split()
            seconds = float(amount) * _RATE_SECONDS[unit.removesuffix("s")]
            return moment.astimezone(UTC) + timedelta(seconds=seconds)
        if kind != "cron":
            raise ValueError(f"the local scheduler cannot read {self.expression!r}")
        minutes, hours, days, months, weekdays, _year = arguments.split()
        # Wall-clock time in the schedule's zone, so 8:00 stays 8:00 across daylight saving.
        local = moment.astimezone(ZoneInfo(self.time_zone))
        rule = rrule.rrule(
            rrule.DAILY,
            dtstart=local.replace(second=0, microsecond=0),
            byminute=_field(minutes, 0, 59),
            byhour=_field(hours, 0, 23),
            bymonthday=_field(days, 1, 31),
            bymonth=_field(months, 1, 12, _MONTHS),
            # EventBridge counts 1 (Sunday) to 7; dateutil 0 (Monday) to 6.
            byweekday=[(day + 5) % 7 for day in _field(weekdays, 1, 7, _DAYS)],
            bysecond=0,
        )
        firing = rule.after(local)
        if firing is None:
            raise ValueError(f"{self.expression!r} never fires")
        return firing.astimezone(UTC)

    def event(self, scheduled: datetime) -> Any:
        stamp = scheduled.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.loads((self.input or "{}").replace("<aws.scheduler.scheduled-time>", stamp))


def summary(result: Any) -> str | None:
    """``found 1, sent 1``: one console line's worth of a run's report; None when it found nothing."""
    if isinstance(result, dict):
        if "found" in result and not result["found"]:
            return None
        return ", ".join(f"{key} {value}" for key, value in result.items() if value is not None)
    return json.dumps(result)


class Scheduler:
    """A thread that fires each schedule when its time comes (checked every second)."""

    def __init__(
        self,
        schedules: list[Schedule],
        invoke: Callable[[str, Any], Any],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._invoke = invoke
        self._clock = clock
        self.next_firings = {schedule: schedule.next_after(clock()) for schedule in schedules}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)

    def fire_due(self) -> int:
        """Fire every schedule whose time has come; how many fired."""
        now = self._clock()
        due = [(schedule, when) for schedule, when in self.next_firings.items() if when <= now]
        for schedule, when in due:
            self.next_firings[schedule] = schedule.next_after(now)
            try:
                line = summary(self._invoke(schedule.function, schedule.event(when)))
                if line is not None:  # a run that found nothing to do (the sweep, mostly) says nothing
                    print(f"schedule: {schedule.function}: {line}", flush=True)
            except Exception:  # a failing scheduled function must not stop the others
                traceback.print_exc()
                print(f"error: scheduled {schedule.function} raised", flush=True)
        return len(due)

    def _run(self) -> None:
        while not self._stop.wait(1):
            self.fire_due()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
