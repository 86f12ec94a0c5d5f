"""The office's week in numbers, without AWS: which week a moment belongs to, the percentiles, the
figures of a week, and the email a person reads (HTML and plain text)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from callbacks.core import deadline
from callbacks.core.office import week_of
from callbacks.emails import weekly_summary as weekly_email
from callbacks.logic import office_week
from callbacks.logic.office_week import percentile, week_figures, week_to_summarize
from callbacks.models.choices import BestTime
from callbacks.models.week import WeekRequest
from tests.conftest import deployment_settings

SETTINGS = deployment_settings(allowed_origins=("https://www.practice.example", "https://practice.example"))
# Monday November 30, 2026, 7:30 in Tupelo (CST, UTC-6): the schedule's moment.
MONDAY_730 = datetime(2026, 11, 30, 13, 30, tzinfo=UTC)
WEEK = date(2026, 11, 23)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- which week ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "monday"),
    [
        ("2026-11-30T05:59:59Z", "2026-11-23"),  # Sunday 23:59:59 CST: still last week
        ("2026-11-30T06:00:00Z", "2026-11-30"),  # Monday 00:00 CST: the new week
        ("2026-11-30T13:29:00Z", "2026-11-30"),  # Monday 7:29: this week, not the summarized one
        ("2026-11-23T06:00:00Z", "2026-11-23"),
        ("2026-11-30T03:00:00Z", "2026-11-23"),  # Sunday 21:00 in Tupelo, Monday already in UTC
    ],
    ids=["sunday-last-second", "monday-midnight", "monday-7-29", "first-minute", "sunday-night-utc-monday"],
)
def test_a_moment_belongs_to_the_office_week_of_its_wall_clock(moment: str, monday: str) -> None:
    assert week_of(utc(moment), "America/Chicago").isoformat() == monday


@pytest.mark.parametrize(
    ("moment", "monday"),
    [
        # Daylight saving ends Sunday Nov 1, 2026: the week of Oct 26 has 169 hours.
        ("2026-10-26T05:00:00Z", "2026-10-26"),  # Monday 00:00 CDT (UTC-5)
        ("2026-10-26T04:59:00Z", "2026-10-19"),  # Sunday 23:59 CDT
        ("2026-11-02T05:30:00Z", "2026-10-26"),  # Sunday Nov 1, 23:30 CST (UTC-6): still that week
        ("2026-11-02T06:00:00Z", "2026-11-02"),  # Monday Nov 2, 00:00 CST
        # Daylight saving starts Sunday Mar 8, 2026: the week of Mar 2 has 167 hours.
        ("2026-03-09T04:59:00Z", "2026-03-02"),  # Sunday Mar 8, 23:59 CDT
        ("2026-03-09T05:00:00Z", "2026-03-09"),  # Monday Mar 9, 00:00 CDT
    ],
)
def test_a_week_with_a_daylight_saving_change_runs_monday_to_sunday_on_the_office_clock(
    moment: str, monday: str
) -> None:
    assert week_of(utc(moment), "America/Chicago").isoformat() == monday


@pytest.mark.parametrize(
    ("scheduled", "summarized"),
    [
        (MONDAY_730, "2026-11-23"),
        (datetime(2026, 11, 2, 13, 30, tzinfo=UTC), "2026-10-26"),  # 7:30 CST after the DST week
        (datetime(2026, 10, 26, 12, 30, tzinfo=UTC), "2026-10-19"),  # 7:30 CDT
        (datetime(2026, 12, 2, 18, 0, tzinfo=UTC), "2026-11-23"),  # a manual run on a Wednesday
        (datetime(2027, 1, 4, 13, 30, tzinfo=UTC), "2026-12-28"),  # across the new year
    ],
)
def test_the_summary_covers_the_last_whole_week_before_it_runs(scheduled: datetime, summarized: str) -> None:
    assert week_to_summarize(scheduled, SETTINGS).isoformat() == summarized


# --- percentiles -----------------------------------------------------------------------------


def test_percentiles_of_one_request_are_its_own_time() -> None:
    assert percentile([42], 0.5) == 42
    assert percentile([42], 0.9) == 42


def test_percentiles_of_two_requests_interpolate_between_them() -> None:
    assert percentile([20, 10], 0.5) == 15
    assert percentile([20, 10], 0.9) == pytest.approx(19)


def test_percentiles_of_a_hundred_requests() -> None:
    minutes = list(range(100, 0, -1))  # 1..100, in any order
    assert percentile(minutes, 0.5) == pytest.approx(50.5)
    assert percentile(minutes, 0.9) == pytest.approx(90.1)
    assert percentile(minutes, 1.0) == 100


def test_no_calls_have_no_percentile() -> None:
    assert percentile([], 0.5) is None


# --- a week's figures ------------------------------------------------------------------------


def a_request(
    created: str,
    *,
    called_after_minutes: float | None = None,
    best_time: str = "morning",
    source_url: str | None = "https://www.practice.example/laser-resurfacing",
) -> WeekRequest:
    created_at = utc(created)
    due = deadline.call_by(created_at, BestTime(best_time), deadline.office_calendar(SETTINGS))
    contacted = None if called_after_minutes is None else created_at + timedelta(minutes=called_after_minutes)
    return WeekRequest(
        id=str(uuid.uuid4()),
        created_at=created_at,
        status="new" if contacted is None else "contacted",
        best_time=BestTime(best_time),
        call_by=due,
        contacted_at=contacted,
        source_url=source_url,
    )


def test_an_empty_week_has_zeros_and_no_times() -> None:
    figures = week_figures(WEEK, [], SETTINGS)

    assert (figures.received, figures.called, figures.called_by_deadline, figures.still_open) == (0, 0, 0, 0)
    assert figures.median_minutes is None
    assert figures.p90_minutes is None
    assert figures.per_day == (0,) * 7


def test_a_week_where_nothing_was_called_is_all_open_with_no_times() -> None:
    requests = [a_request("2026-11-24T15:00:00Z"), a_request("2026-11-25T15:00:00Z")]

    figures = week_figures(WEEK, requests, SETTINGS)

    assert (figures.received, figures.called, figures.still_open) == (2, 0, 2)
    assert figures.median_minutes is None
    assert weekly_email.on_time_share(figures) == "0 of 2 (0%)"
    assert figures.open_references == tuple(r.id[:8].upper() for r in requests)


def test_a_week_where_everything_was_on_time() -> None:
    requests = [
        a_request("2026-11-23T15:00:00Z", called_after_minutes=20),  # Monday 9:00, due at noon
        a_request("2026-11-24T15:00:00Z", called_after_minutes=60),
        a_request("2026-11-27T15:00:00Z", called_after_minutes=90),  # the day after Thanksgiving
    ]

    figures = week_figures(WEEK, requests, SETTINGS)

    assert (figures.called, figures.called_by_deadline, figures.still_open) == (3, 3, 0)
    assert weekly_email.on_time_share(figures) == "3 of 3 (100%)"
    assert figures.median_minutes == 60
    assert figures.p90_minutes == pytest.approx(84)
    assert figures.open_references == ()


def test_a_call_after_the_deadline_counts_as_called_but_not_on_time() -> None:
    late = a_request("2026-11-23T15:00:00Z", called_after_minutes=4 * 60)  # due noon, called 1 pm
    figures = week_figures(WEEK, [late, a_request("2026-11-23T16:00:00Z", called_after_minutes=10)], SETTINGS)

    assert (figures.called, figures.called_by_deadline) == (2, 1)
    assert weekly_email.on_time_share(figures) == "1 of 2 (50%)"


def test_time_to_call_back_is_rounded_to_the_nearest_minute() -> None:
    created = utc("2026-11-23T15:00:00Z")
    assert deadline.minutes_to_call_back(created, created + timedelta(seconds=89)) == 1
    assert deadline.minutes_to_call_back(created, created + timedelta(seconds=90)) == 2
    assert deadline.minutes_to_call_back(created, created + timedelta(seconds=150)) == 3  # half up


def test_a_call_at_the_deadline_itself_is_on_time_and_a_second_later_is_not() -> None:
    due = datetime.fromisoformat("2026-11-24T12:00:00-06:00")
    assert deadline.called_by_deadline(due, due)
    assert not deadline.called_by_deadline(due, due + timedelta(seconds=1))
    assert not deadline.called_by_deadline(None, due)


def test_requests_per_day_follow_the_office_clock() -> None:
    sunday_night = a_request("2026-11-30T05:30:00Z")  # Sunday 23:30 in Tupelo, Monday in UTC
    monday_early = a_request("2026-11-23T06:30:00Z")  # Monday 0:30 in Tupelo
    figures = week_figures(WEEK, [sunday_night, monday_early, a_request("2026-11-25T18:00:00Z")], SETTINGS)

    assert figures.per_day == (1, 0, 1, 0, 0, 0, 1)


def test_the_split_by_best_time_and_by_page() -> None:
    requests = [
        a_request("2026-11-23T15:00:00Z", best_time="evening"),
        a_request(
            "2026-11-23T16:00:00Z",
            best_time="evening",
            source_url="https://practice.example/laser-resurfacing",
        ),
        a_request("2026-11-24T15:00:00Z", best_time="anytime", source_url=None),
        a_request("2026-11-24T16:00:00Z", source_url="https://elsewhere.example/copied-form"),
    ]

    figures = week_figures(WEEK, requests, SETTINGS)

    assert figures.by_best_time == ((BestTime.MORNING, 1), (BestTime.EVENING, 2), (BestTime.ANYTIME, 1))
    # The www twin and the apex are one page; another site is named and marked.
    assert [(page.label, page.count, page.off_site) for page in figures.by_page] == [
        ("/laser-resurfacing", 2, False),
        ("Not given", 1, False),
        ("https://elsewhere.example/copied-form", 1, True),
    ]


def test_many_source_pages_keep_the_busiest_and_count_the_rest() -> None:
    requests = [
        a_request("2026-11-23T15:00:00Z", source_url=f"https://www.practice.example/page-{n}")
        for n in range(12)
        for _ in range(1 + (n == 0))
    ]

    pages = week_figures(WEEK, requests, SETTINGS).by_page

    assert len(pages) == office_week.TOP_PAGES
    assert pages[0].label == "/page-0"
    assert pages[0].count == 2
    assert pages[-1].label == "5 other pages"
    assert sum(page.count for page in pages) == len(requests)


# --- the email -------------------------------------------------------------------------------


def test_week_spans_read_naturally_across_months_and_years() -> None:
    assert weekly_email.week_span(date(2026, 11, 23), date(2026, 11, 29)) == "Nov 23 - 29, 2026"
    assert weekly_email.week_span(date(2026, 11, 30), date(2026, 12, 6)) == "Nov 30 - Dec 6, 2026"
    assert weekly_email.week_span(date(2026, 12, 28), date(2027, 1, 3)) == "Dec 28, 2026 - Jan 3, 2027"


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(None, "-"), (0, "0 min"), (42.4, "42 min"), (59.6, "1 h"), (185, "3 h 5 min"), (3120, "2 d 4 h")],
)
def test_durations_read_in_minutes_hours_and_days(minutes: float | None, text: str) -> None:
    assert weekly_email.duration(minutes) == text


def busy_week() -> tuple[office_week.WeekFigures, office_week.WeekFigures]:
    week = week_figures(
        WEEK,
        [
            a_request("2026-11-23T15:00:00Z", called_after_minutes=30),
            a_request("2026-11-23T17:00:00Z", called_after_minutes=95, best_time="afternoon"),
            a_request("2026-11-25T15:00:00Z"),
        ],
        SETTINGS,
    )
    before = week_figures(
        WEEK - timedelta(days=7), [a_request("2026-11-17T15:00:00Z", called_after_minutes=12)], SETTINGS
    )
    return week, before


def test_the_summary_shows_this_week_beside_the_week_before_in_both_parts() -> None:
    week, before = busy_week()

    email = weekly_email.render_weekly_summary(week, before, MONDAY_730, "America/Chicago")

    assert email.subject == "Week of Nov 23 - 29, 2026: 3 call-back requests, 2 called"
    lines = email.text.splitlines()
    assert [line.split() for line in lines if line.startswith("Received ")] == [["Received", "3", "1"]]
    assert [line.split() for line in lines if line.startswith("Still open now ")] == [
        ["Still", "open", "now", "1", "0"]
    ]
    assert "2 of 3 (67%)" in email.text
    assert "1 of 1 (100%)" in email.text
    assert "Median time to call back  1 h 3 min" in email.text  # (30 + 95) / 2 = 62.5, to 63
    assert "9 in 10 called within     1 h 29 min" in email.text  # 30 + 0.9 * (95 - 30) = 88.5, to 89
    assert "By best time\n  Morning (8 am - noon): 2\n  Afternoon (noon - 5 pm): 1\n" in email.text
    assert "  Mon, Nov 23  #################### 2" in email.text
    assert "  Tue, Nov 24  0" in email.text
    assert f"Still open\n  {week.open_references[0]}" in email.text
    for figure in (
        "2 of 3 (67%)",
        "1 of 1 (100%)",
        "1 h 3 min",
        "1 h 29 min",
        "Afternoon (noon - 5 pm)",
        "Nov 16 - 22",
        "Requests per day",
        "By source page",
    ):
        assert figure in email.html
    assert "Made Mon, Nov 30, 2026 at 7:30 AM CST." in email.html


def test_the_bars_are_table_cells_as_wide_as_the_days_share_with_the_count_beside_them() -> None:
    week, before = busy_week()

    html = weekly_email.render_weekly_summary(week, before, MONDAY_730, "America/Chicago").html

    assert "<img" not in html
    assert "<script" not in html
    assert html.count('bgcolor="#1f4e5f"') == 2  # Monday (2) and Wednesday (1); no bar for an empty day
    assert 'width="80%"' in html  # the busiest day
    assert 'width="40%"' in html  # half of it


def test_an_empty_week_gets_one_short_summary_that_says_so() -> None:
    _, before = busy_week()
    empty = week_figures(WEEK, [], SETTINGS)

    email = weekly_email.render_weekly_summary(empty, before, MONDAY_730, "America/Chicago")

    assert email.subject == "Week of Nov 23 - 29, 2026: no call-back requests"
    assert "No call-back requests arrived from Mon, Nov 23 to Sun, Nov 29" in email.text
    assert "The week before: 1 request, 1 called." in email.text
    assert "<table" not in email.html
    assert len(email.text.splitlines()) < 8


def test_a_page_from_another_site_is_escaped_and_marked() -> None:
    hostile = "https://evil.example/<script>alert(1)</script>"
    week = week_figures(WEEK, [a_request("2026-11-23T15:00:00Z", source_url=hostile)], SETTINGS)

    html = weekly_email.render_weekly_summary(
        week, week_figures(WEEK, [], SETTINGS), MONDAY_730, "America/Chicago"
    ).html

    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "(not the practice&#x27;s site)" in html
