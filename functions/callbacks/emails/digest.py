"""The digest of overdue requests: one email listing every request still open past its deadline,
oldest first, each with its mark-as-called link. References only: nothing personal. Render only.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from callbacks.core.office import office_time
from callbacks.emails.layout import BEST_TIME_LABELS, long_deadline, template
from callbacks.models.email import OfficeEmail
from callbacks.models.record import OpenRequest, reference


def how_late(late_by: timedelta) -> str:
    """45 minutes, 3 hours, 2 days 4 hours late: the digest's words, rounded down."""
    minutes = max(0, int(late_by.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)

    def unit(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    if days:
        return unit(days, "day") + (f" {unit(hours, 'hour')}" if hours else "") + " late"
    if hours:
        return unit(hours, "hour") + " late"
    return unit(minutes, "minute") + " late"


def render_overdue_digest(
    late: list[OpenRequest], links: dict[str, str | None], now: datetime, time_zone: str
) -> OfficeEmail:
    """The digest of requests still open past their deadline, in the order given (oldest first),
    each with its link; every time in the office's ``time_zone``."""
    count = len(late)
    noun = "request" if count == 1 else "requests"
    made = office_time(now, time_zone)
    subject = f"{count} call-back {noun} overdue - {made}"
    text_lines = [f"{count} call-back {noun} still open past the deadline, oldest first.", ""]
    esc = html.escape
    items = []
    for item in late:
        ref = reference(item.id)
        best = BEST_TIME_LABELS[item.best_time]
        due = long_deadline(item.call_by, time_zone)
        late_text = how_late(now - item.call_by)
        received = office_time(item.created_at, time_zone)
        text_lines += [
            f"{ref} - {late_text}",
            f"  Best time: {best}",
            f"  Call by was: {due}",
            f"  Received: {received}",
            *([f"  Mark as called: {link}"] if (link := links.get(item.id)) else []),
            "",
        ]
        button = (
            f'<a href="{esc(link, quote=True)}" style="display:inline-block;margin-top:8px;'
            "color:#1f4e5f;font-weight:700;border:2px solid #1f4e5f;border-radius:8px;padding:8px 14px;"
            f'text-decoration:none;">Mark {esc(ref)} as called</a>'
            if link
            else ""
        )
        items.append(
            '<li style="border-top:1px solid #e6e9ec;padding:12px 0;list-style:none;">'
            f'<div style="font-size:19px;font-weight:700;"><span style="font-family:Menlo,Consolas,'
            f'monospace;">{esc(ref)}</span> <span style="color:#a3321b;">{esc(late_text)}</span></div>'
            f'<div style="color:#47525c;font-size:15px;">Best time: {esc(best)}<br>Call by was: {esc(due)}'
            f"<br>Received: {esc(received)}</div>{button}</li>"
        )
    text_lines += ["Each request's own email has the name and number: search your inbox for its reference."]
    page_html = template("overdue_digest.html").substitute(
        title=esc(subject),
        heading=esc(f"{count} call-back {noun} overdue"),
        when=esc(made),
        items="\n".join(items),
    )
    return OfficeEmail(subject=subject, text="\n".join(text_lines), html=page_html)
