"""The template's schedules (SAM ScheduleV2 events), fired locally the way EventBridge Scheduler
fires them: at each cron time in the schedule's own time zone, with the schedule's ``Input``
(``<aws.scheduler.scheduled-time>`` filled in) as the event.

Only what EventBridge cron expressions need here: ``cron(minutes hours day-of-month month
day-of-week year)`` with ``*``, ``?``, numbers, lists, ranges and day names, and ``rate(N unit)``.
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

_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
_RATE_UNITS = {
    "second": 1,
    "seconds": 1,
    "minute": 60,
    "minutes": 60,
    "hour": 3600,
    "hours": 3600,
    "day": 86400,
    "days": 86400,
}


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    if text in ("*", "?"):
        return frozenset(range(low, high + 1))
    values: set[int] = set()
    for item in text.split(","):
        span, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if span in ("*", ""):
            first, last = low, high
        elif "-" in span:
            first_text, last_text = span.split("-", 1)
            first, last = _value(first_text, names), _value(last_text, names)
        else:
            first = last = _value(span, names)
        values.update(range(first, last + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    return names[text.upper()] if names and text.upper() in names else int(text)


@dataclass(frozen=True)
class Schedule:
    """One schedule of the template: which function, when, with what."""

    function: str
    expression: str
    time_zone: str
    input: str

    def next_after(self, moment: datetime) -> datetime:
        """The first firing strictly after ``moment`` (aware), in UTC."""
        expression = self.expression.strip()
        if expression.startswith("rate("):
            amount, unit = expression[5:-1].split()
            return moment.astimezone(UTC) + timedelta(seconds=float(amount) * _RATE_UNITS[unit])
        if not expression.startswith("cron("):
            raise ValueError(f"the local scheduler cannot read {expression!r}")
        minutes, hours, days, months, weekdays, _year = expression[5:-1].split()
        allowed = (
            _field(minutes, 0, 59),
            _field(hours, 0, 23),
            _field(days, 1, 31),
            _field(months, 1, 12, _MONTHS),
            _field(weekdays, 1, 7, _DAYS),
        )
        zone = ZoneInfo(self.time_zone)
        local = moment.astimezone(zone).replace(second=0, microsecond=0) + timedelta(minutes=1)
        # Minute by minute over wall-clock time, at most a year and a bit: plenty for 2 cores.
        for _ in range(60 * 24 * 370):
            weekday = (local.isoweekday() % 7) + 1  # EventBridge: 1 is Sunday
            if (
                local.minute in allowed[0]
                and local.hour in allowed[1]
                and local.day in allowed[2]
                and local.month in allowed[3]
                and weekday in allowed[4]
            ):
                return local.astimezone(UTC)
            local = (local + timedelta(minutes=1)).astimezone(zone)
        raise ValueError(f"{expression!r} never fires")

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
    """A thread that fires each schedule when its time comes (checked every few seconds)."""

    def __init__(
        self,
        schedules: list[Schedule],
        invoke: Callable[[str, Any], Any],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._invoke = invoke
        self._clock = clock
        self._next = {schedule: schedule.next_after(clock()) for schedule in schedules}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="local-scheduler", daemon=True)

    def next_firings(self) -> dict[Schedule, datetime]:
        return dict(self._next)

    def fire_due(self) -> int:
        """Fire every schedule whose time has come; how many fired."""
        now = self._clock()
        fired = 0
        for schedule, when in list(self._next.items()):
            if when > now:
                continue
            self._next[schedule] = schedule.next_after(now)
            fired += 1
            try:
                result = self._invoke(schedule.function, schedule.event(when))
                line = summary(result)
                if line is not None:  # a run that found nothing to do (the sweep, mostly) says nothing
                    print(f"schedule: {schedule.function}: {line}", flush=True)
            except Exception:  # a failing scheduled function must not stop the others
                traceback.print_exc()
                print(f"error: scheduled {schedule.function} raised", flush=True)
        return fired

    def _run(self) -> None:
        while not self._stop.wait(1):
            self.fire_due()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
