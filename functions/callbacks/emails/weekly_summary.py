"""The weekly summary email: one office week's figures beside the week before's, for a phone.

Only HTML every mail client renders: tables, inline styles, no images and no scripts. The bars of
the requests-per-day chart are table cells whose width is the day's share of the busiest day, and
each bar has its count written beside it (the chart's text alternative); the plain-text part
carries the same figures. References only: no name, phone number, address or message.
"""

from __future__ import annotations

import html
from datetime import date, datetime

from callbacks.core.office import SHORT_MONTHS, office_time, short_date
from callbacks.emails.layout import BEST_TIME_LABELS, NOT_OURS, template
from callbacks.models.email import OfficeEmail
from callbacks.models.week import WeekFigures

# The busiest day's bar fills this share of its cell, leaving room for its count.
_FULL_BAR_PERCENT = 80
_TEXT_BAR = 20
# The still-open references listed one by one; more are counted.
_LISTED_REFERENCES = 30
_ACCENT = "#1f4e5f"
_MUTED = "#47525c"
_RULE = "#e6e9ec"
NOT_MEASURED = "-"


def week_span(start: date, end: date, *, with_year: bool = True) -> str:
    """Nov 23 - 29, 2026; Nov 30 - Dec 6, 2026; Dec 28, 2026 - Jan 3, 2027 (or without the year)."""
    first = f"{SHORT_MONTHS[start.month - 1]} {start.day}"
    if start.year != end.year and with_year:
        return f"{first}, {start.year} - {SHORT_MONTHS[end.month - 1]} {end.day}, {end.year}"
    last = f"{end.day}" if start.month == end.month else f"{SHORT_MONTHS[end.month - 1]} {end.day}"
    return f"{first} - {last}, {end.year}" if with_year else f"{first} - {last}"


def duration(minutes: float | None) -> str:
    """42 min, 3 h 5 min, 2 d 4 h: a time to call back, to the nearest minute; ``-`` for none."""
    if minutes is None:
        return NOT_MEASURED
    total = int(minutes + 0.5)
    days, rest = divmod(total, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins} min" if mins else f"{hours} h"
    return f"{mins} min"


def on_time_share(figures: WeekFigures) -> str:
    """7 of 10 (70%): the requests called by their deadline, of all received."""
    if not figures.received:
        return NOT_MEASURED
    percent = int(100 * figures.called_by_deadline / figures.received + 0.5)
    return f"{figures.called_by_deadline} of {figures.received} ({percent}%)"


def _rows(week: WeekFigures, before: WeekFigures) -> list[tuple[str, str, str]]:
    return [
        ("Received", str(week.received), str(before.received)),
        ("Called", str(week.called), str(before.called)),
        ("Called by their deadline", on_time_share(week), on_time_share(before)),
        ("Still open now", str(week.still_open), str(before.still_open)),
        ("Median time to call back", duration(week.median_minutes), duration(before.median_minutes)),
        ("9 in 10 called within", duration(week.p90_minutes), duration(before.p90_minutes)),
    ]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _subject(week: WeekFigures, span: str) -> str:
    if not week.received:
        return f"Week of {span}: no call-back requests"
    return f"Week of {span}: {_plural(week.received, 'call-back request')}, {week.called} called"


esc = html.escape
_CAPTION = f'style="text-align:left;font-size:17px;font-weight:700;padding:14px 0 6px 0;color:{_ACCENT};"'
_CELL = f"text-align:left;padding:6px 8px 6px 0;border-top:1px solid {_RULE};"
_TH = f'style="{_CELL}font-weight:400;color:{_MUTED};"'
_TD = f'style="{_CELL}font-weight:700;"'
_TD_BEFORE = f'style="{_CELL}color:{_MUTED};"'
_TH_DAY = f'style="{_CELL}font-weight:400;color:{_MUTED};white-space:nowrap;"'
_HEAD = f'style="text-align:left;font-size:14px;color:{_MUTED};font-weight:400;padding:2px 8px 2px 0;"'
_TABLE = (
    'cellpadding="0" cellspacing="0" border="0" width="100%" style="border-collapse:collapse;font-size:16px;"'
)
_MONOSPACE = 'style="font-family:Menlo,Consolas,monospace;"'


def _figures_html(week: WeekFigures, before: WeekFigures) -> str:
    span = week_span(week.days[0], week.days[-1], with_year=False)
    before_span = week_span(before.days[0], before.days[-1], with_year=False)
    body = "".join(
        f'<tr><th scope="row" {_TH}>{esc(label)}</th><td {_TD}>{esc(this)}</td>'
        f"<td {_TD_BEFORE}>{esc(prior)}</td></tr>"
        for label, this, prior in _rows(week, before)
    )
    return (
        f"<table {_TABLE}><caption {_CAPTION}>This week and the week before</caption>"
        f'<tr><td {_HEAD}></td><th scope="col" {_HEAD}>{esc(span)}</th>'
        f'<th scope="col" {_HEAD}>{esc(before_span)}</th></tr>{body}</table>'
    )


def _bar(count: int, busiest: int) -> str:
    width = round(_FULL_BAR_PERCENT * count / busiest) if busiest else 0
    bar = (
        f'<td width="{width}%" bgcolor="{_ACCENT}" style="width:{width}%;background:{_ACCENT};'
        'height:18px;font-size:0;line-height:0;border-radius:3px;">&nbsp;</td>'
        if width
        else ""
    )
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0" width="100%"><tr>'
        f'{bar}<td style="padding-left:8px;font-size:15px;white-space:nowrap;">{count}</td></tr></table>'
    )


def _per_day_html(week: WeekFigures) -> str:
    busiest = max(week.per_day, default=0)
    rows = "".join(
        f'<tr><th scope="row" {_TH_DAY}>{esc(short_date(day))}</th>'
        f'<td style="padding:4px 0;border-top:1px solid {_RULE};width:100%;">{_bar(count, busiest)}</td></tr>'
        for day, count in zip(week.days, week.per_day, strict=True)
    )
    return (
        f"<table {_TABLE}><caption {_CAPTION}>Requests per day</caption>"
        f'<tr><th scope="col" {_HEAD}>Day</th><th scope="col" {_HEAD}>Requests</th></tr>{rows}</table>'
    )


def _split_html(caption: str, heading: str, pairs: list[tuple[str, int]]) -> str:
    rows = "".join(
        f'<tr><th scope="row" {_TH} dir="auto">{esc(label)}</th><td {_TD}>{count}</td></tr>'
        for label, count in pairs
    )
    return (
        f"<table {_TABLE}><caption {_CAPTION}>{esc(caption)}</caption>"
        f'<tr><th scope="col" {_HEAD}>{esc(heading)}</th><th scope="col" {_HEAD}>Requests</th></tr>'
        f"{rows}</table>"
    )


def _best_times(week: WeekFigures) -> list[tuple[str, int]]:
    return [(BEST_TIME_LABELS[choice], count) for choice, count in week.by_best_time]


def _pages(week: WeekFigures) -> list[tuple[str, int]]:
    return [(f"{p.label} {NOT_OURS}" if p.off_site else p.label, p.count) for p in week.by_page]


def _open_references(week: WeekFigures) -> tuple[list[str], str]:
    listed = list(week.open_references[:_LISTED_REFERENCES])
    more = len(week.open_references) - len(listed)
    return listed, (f" and {more} more" if more > 0 else "")


def _open_html(week: WeekFigures) -> str:
    if not week.open_references:
        return ""
    listed, more = _open_references(week)
    refs = ", ".join(f"<span {_MONOSPACE}>{esc(ref)}</span>" for ref in listed)
    return (
        f'<h2 style="font-size:17px;margin:16px 0 4px 0;color:{_ACCENT};">Still open</h2>'
        f'<p style="margin:0 0 8px 0;font-size:16px;">{refs}{esc(more)}</p>'
    )


def _nothing_arrived(week: WeekFigures) -> str:
    return f"No call-back requests arrived from {short_date(week.days[0])} to {short_date(week.days[-1])}"


def _week_before_line(before: WeekFigures) -> str:
    return f"The week before: {_plural(before.received, 'request')}, {before.called} called."


def _text_part(week: WeekFigures, before: WeekFigures, span: str, made: str) -> str:
    lines = [f"Call-back requests, week of {span} (Monday to Sunday, office time)", ""]
    if not week.received:
        lines += [
            f"{_nothing_arrived(week)}.",
            _week_before_line(before),
            "",
            f"Made {made}.",
        ]
        return "\n".join(lines)
    this_span = week_span(week.days[0], week.days[-1], with_year=False)
    before_span = week_span(before.days[0], before.days[-1], with_year=False)
    lines += [f"{'':26}{this_span:<22}{before_span}"]
    lines += [f"{label:<26}{this:<22}{prior}" for label, this, prior in _rows(week, before)]
    busiest = max(week.per_day, default=0)
    lines += ["", "Requests per day"]
    for day, count in zip(week.days, week.per_day, strict=True):
        bar = "#" * (round(_TEXT_BAR * count / busiest) if busiest else 0)
        lines.append(f"  {short_date(day):<12} {bar + ' ' if bar else ''}{count}")
    lines += ["", "By best time"] + [f"  {label}: {count}" for label, count in _best_times(week)]
    lines += ["", "By source page"] + [f"  {label}: {count}" for label, count in _pages(week)]
    if week.open_references:
        listed, more = _open_references(week)
        lines += ["", "Still open", "  " + ", ".join(listed) + more]
    lines += ["", _FOOTER_TEXT, f"Made {made}."]
    return "\n".join(lines)


_FOOTER_TEXT = (
    "References only: each request's own email has the name and number. Time to call back runs from "
    "the request to the press of Mark as called; still open means nobody had marked it called when "
    "this email was made."
)


def render_weekly_summary(
    week: WeekFigures, before: WeekFigures, now: datetime, time_zone: str
) -> OfficeEmail:
    """The office's Monday email about the week starting ``week.start``, the week before beside it."""
    span = week_span(week.days[0], week.days[-1])
    made = office_time(now, time_zone)
    subject = _subject(week, span)
    if week.received:
        heading = f"{_plural(week.received, 'call-back request')}, {week.called} called"
        sections = "\n".join(
            [
                _figures_html(week, before),
                _per_day_html(week),
                _split_html("By best time", "Best time", _best_times(week)),
                _split_html("By source page", "Page", _pages(week)),
                _open_html(week),
            ]
        )
    else:
        heading = "No call-back requests last week"
        sections = (
            f'<p style="margin:4px 0 8px 0;">{esc(_nothing_arrived(week))} (office time).</p>'
            f'<p style="margin:0 0 8px 0;color:{_MUTED};">{esc(_week_before_line(before))}</p>'
        )
    page = template("weekly_summary.html").substitute(
        title=esc(subject),
        heading=esc(heading),
        span=esc(f"Week of {span}, Monday to Sunday, office time"),
        sections=sections,
        footer=(f"{esc(_FOOTER_TEXT)}<br>" if week.received else "") + esc(f"Made {made}."),
    )
    return OfficeEmail(subject=subject, text=_text_part(week, before, span, made), html=page)
