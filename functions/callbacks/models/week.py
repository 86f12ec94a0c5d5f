"""The office's week in numbers: what the weekly summary reads of each request, and what it counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from callbacks.models.choices import BestTime


@dataclass(frozen=True)
class WeekRequest:
    """What the by-week index holds of a request: enough for the weekly summary, nothing personal."""

    id: str
    created_at: datetime
    status: str
    best_time: BestTime
    call_by: datetime | None
    contacted_at: datetime | None
    source_url: str | None


@dataclass(frozen=True)
class WeekFigures:
    """One office week in numbers (``start`` is its Monday). Counts and references, nothing personal."""

    start: date
    received: int
    called: int
    called_by_deadline: int
    still_open: int
    median_minutes: float | None
    p90_minutes: float | None
    per_day: tuple[int, ...]
    by_best_time: tuple[tuple[BestTime, int], ...]
    by_page: tuple[PageCount, ...]
    open_references: tuple[str, ...]

    @property
    def days(self) -> tuple[date, ...]:
        return tuple(self.start + timedelta(days=offset) for offset in range(7))


@dataclass(frozen=True)
class PageCount:
    """Requests from one source page: its path on the practice's site, or a URL marked off-site."""

    label: str
    count: int
    off_site: bool = False
