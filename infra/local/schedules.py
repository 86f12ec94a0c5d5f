"""The scheduled functions, locally: what EventBridge Scheduler does for the template's ScheduleV2 events.

Each schedule's function is invoked with the schedule's own ``Input``. Locally a ``rate(...)``
schedule runs on a short period of its own (the sweep every 20 s by default), so a demo does not
wait 5 minutes; one whose period is not given locally runs at the template's rate.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from infra.local.lambdas import LocalFunction
from infra.provision import load_template

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class ScheduleSpec:
    function: str
    name: str
    expression: str
    input: dict[str, Any]

    @property
    def rate_seconds(self) -> float | None:
        """The template's period of a ``rate(...)`` schedule; None for a ``cron(...)`` one."""
        match = _RATE.fullmatch(self.expression)
        if match is None:
            return None
        return float(int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")])


def schedule_specs() -> list[ScheduleSpec]:
    """Every ScheduleV2 event of the template's functions."""
    specs = []
    for logical_id, definition in load_template()["Resources"].items():
        if definition["Type"] != "AWS::Serverless::Function":
            continue
        for name, event in definition["Properties"].get("Events", {}).items():
            if event["Type"] != "ScheduleV2":
                continue
            props = event["Properties"]
            specs.append(
                ScheduleSpec(
                    function=logical_id,
                    name=name,
                    expression=props["ScheduleExpression"],
                    input=json.loads(props.get("Input") or "{}"),
                )
            )
    return specs


def summary(result: Any) -> str | None:
    """One console line's worth of what a run did, or None when it found nothing to do."""
    if not isinstance(result, dict) or not result.get("found"):
        return None
    return ", ".join(f"{key} {value}" for key, value in result.items() if value is not None)


class Scheduler:
    """A thread per schedule, invoking its function every period until stopped."""

    def __init__(
        self, functions: dict[str, LocalFunction], periods: dict[str, float], specs: list[ScheduleSpec]
    ) -> None:
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        for spec in specs:
            period = periods.get(spec.function, spec.rate_seconds)
            if period is None:
                print(f"schedule: {spec.function} ({spec.expression}) runs on demand only here")
                continue
            self._threads.append(
                threading.Thread(
                    target=self._run,
                    args=(functions[spec.function], spec, period),
                    name=f"schedule-{spec.function}",
                    daemon=True,
                )
            )

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        # Daemon threads: a run still going at exit ends with the process, as Lambda ends one at
        # its timeout (the claim it may hold goes stale); Ctrl-C must not wait for it.
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, function: LocalFunction, spec: ScheduleSpec, period: float) -> None:
        while not self._stop.wait(period):
            try:
                line = summary(function.invoke(dict(spec.input)))
            except Exception as error:  # the function's error: Scheduler would record a failed invocation
                print(f"schedule: {function.name} raised {type(error).__name__}")
                continue
            if line:
                print(f"schedule: {function.name}: {line}")
