"""Render a sample staff alert, a sample digest of overdue requests and a sample weekly summary,
and photograph each at a phone's width with headless Chromium.

    .venv/bin/python -m infra.tools.render_email_preview [--width 390] [--height 900] [--out PATH]

Writes ``infra/docs/screenshots/staff-email-phone.png``, ``overdue-digest-phone.png`` and
``weekly-summary-phone.png`` (the summary's picture is as tall as the email).
Needs Debian's ``chromium`` (or CHROMIUM=/path).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "functions"))

from datetime import UTC, date, datetime, timedelta  # noqa: E402

from callbacks.core.settings import Settings  # noqa: E402
from callbacks.emails.digest import render_overdue_digest  # noqa: E402
from callbacks.emails.staff_alert import render_staff_alert  # noqa: E402
from callbacks.emails.weekly_summary import render_weekly_summary  # noqa: E402
from callbacks.logic.office_week import week_figures  # noqa: E402
from callbacks.models.choices import BestTime  # noqa: E402
from callbacks.models.record import ConsentRecord, OpenRequest, StoredCallbackRequest, parse_timestamp  # noqa: E402
from callbacks.models.week import WeekFigures, WeekRequest  # noqa: E402

SCREENSHOT = ROOT / "infra" / "docs" / "screenshots" / "staff-email-phone.png"
DIGEST_SCREENSHOT = SCREENSHOT.with_name("overdue-digest-phone.png")
SUMMARY_SCREENSHOT = SCREENSHOT.with_name("weekly-summary-phone.png")
SUMMARY_HEIGHT = 1480
CREATED_AT = "2026-11-23T19:23:00Z"
API = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1"


# A made-up deployment: the practice's own site, so that the sample's page is shown as a link.
PREVIEW_SETTINGS = {
    "table_name": "callback-requests",
    "allowed_origins": ["https://www.accentplasticsurgery.example"],
    "thank_you_url": "https://www.accentplasticsurgery.example/thank-you",
    "sender_email": "alerts@accentplasticsurgery.example",
    "office_emails": ["frontdesk@accentplasticsurgery.example"],
    "signing_secret": "a-made-up-secret-for-the-preview",
    "api_base_url": API,
}


def sample_link(request_id: str) -> str:
    token = "1797354387.N2w4U_7o0hG-_15bSxDS9hKe8xrkkKefLbGVjyw8DKU"  # noqa: S105 - a made-up sample
    return f"{API}/callback-requests/{request_id}/contacted?token={token}"


def sample_overdue() -> list[OpenRequest]:
    rows = [
        (
            "9c41d7e2-1f0a-4c55-8e2b-6d3f0a9b1c27",
            "2026-11-20T22:10:00Z",
            "anytime",
            "2026-11-23T17:00:00-06:00",
        ),
        (
            "3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f",
            "2026-11-23T19:23:00Z",
            "morning",
            "2026-11-24T12:00:00-06:00",
        ),
        (
            "b7e05a13-58c2-4d9e-a1f6-0c2d4e6f8a90",
            "2026-11-24T21:45:00Z",
            "morning",
            "2026-11-25T12:00:00-06:00",
        ),
    ]
    return [
        OpenRequest(id=i, created_at=parse_timestamp(c), best_time=BestTime(b), call_by=parse_timestamp(d))
        for i, c, b, d in rows
    ]


def sample_week(
    start: date, calls: list[tuple[int, int, str, int | None, str]], settings: Settings
) -> WeekFigures:
    """A made-up week: (day, hour in Tupelo, best time, minutes to the call or None, page) each."""
    site = "https://www.accentplasticsurgery.example"
    requests = []
    for number, (day, hour, best, minutes, page) in enumerate(calls):
        created = datetime.combine(start + timedelta(days=day), datetime.min.time(), tzinfo=UTC) + timedelta(
            hours=hour + 6
        )
        contacted = None if minutes is None else created + timedelta(minutes=minutes)
        requests.append(
            WeekRequest(
                id=f"{number:02x}{start.day:02d}c0de-0000-4000-8000-{number:012d}",
                created_at=created,
                status="new" if contacted is None else "contacted",
                best_time=BestTime(best),
                call_by=created + timedelta(hours=4),
                contacted_at=contacted,
                source_url=f"{site}{page}" if page else None,
            )
        )
    return week_figures(start, requests, settings)


def sample_summary(settings: Settings) -> tuple[WeekFigures, WeekFigures]:
    laser = "/fractional-co2-laser-skin-resurfacing/"
    week = [
        (0, 8, "morning", 35, laser),
        (0, 12, "afternoon", 80, laser),
        (0, 19, "evening", 900, "/"),
        (1, 9, "morning", 20, laser),
        (1, 14, "anytime", 55, "/scar-treatment/"),
        (2, 10, "morning", 300, laser),
        (3, 8, "anytime", 45, laser),
        (3, 13, "afternoon", 130, ""),
        (4, 9, "morning", None, laser),
        (5, 21, "evening", None, "/scar-treatment/"),
        (6, 20, "anytime", None, laser),
    ]
    before = [
        (0, 9, "morning", 50, laser),
        (1, 11, "anytime", 240, laser),
        (2, 15, "afternoon", 70, "/"),
        (3, 10, "morning", 1500, laser),
        (4, 16, "evening", 95, laser),
    ]
    start = date(2026, 11, 23)
    return sample_week(start, week, settings), sample_week(start - timedelta(days=7), before, settings)


def sample_request() -> StoredCallbackRequest:
    return StoredCallbackRequest(
        id="3f2a9c1e-7b4d-4e8a-9c0f-1a2b3c4d5e6f",
        created_at=CREATED_AT,
        name="Zoë O'Brien-Walker",
        phone="+16623776290",
        email="zoe.obrien@example.com",
        best_time="morning",
        interest="fractional-co2-laser",
        message=(
            "Hi! I have acne scars on both cheeks and some sun spots.\n"
            "How long is the redness and peeling after the CO2 laser?\n\n"
            "Mornings before 10 are best, thank you."
        ),
        source_url="https://www.accentplasticsurgery.example/fractional-co2-laser-skin-resurfacing/",
        consent=ConsentRecord(agreed_at=CREATED_AT),
        expires_at=1_795_000_000,
        call_by="2026-11-24T12:00:00-06:00",
    )


def chromium() -> str:
    found = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise SystemExit("chromium not found: apt-get install -y chromium, or set CHROMIUM=/path/to/chrome")
    return found


def screenshot(page: Path, out: Path, width: int, height: int) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={out}",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width", type=int, default=390)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--out", type=Path, default=SCREENSHOT)
    parser.add_argument("--digest-out", type=Path, default=DIGEST_SCREENSHOT)
    parser.add_argument("--summary-out", type=Path, default=SUMMARY_SCREENSHOT)
    args = parser.parse_args()
    # The practice's own site, so that the sample's page is shown as a link.
    settings = Settings.model_validate(PREVIEW_SETTINGS)
    request = sample_request()
    alert = render_staff_alert(request, settings, sample_link(request.id))
    late = sample_overdue()
    digest = render_overdue_digest(
        late,
        {item.id: sample_link(item.id) for item in late},
        datetime(2026, 11, 25, 19, 0, tzinfo=UTC),
        settings.office_time_zone,
    )
    week, before = sample_summary(settings)
    summary = render_weekly_summary(
        week, before, datetime(2026, 11, 30, 13, 30, tzinfo=UTC), settings.office_time_zone
    )
    with tempfile.TemporaryDirectory() as folder:
        for name, html, out, height in (
            ("staff-alert", alert.html, args.out, args.height),
            ("digest", digest.html, args.digest_out, args.height),
            ("summary", summary.html, args.summary_out, SUMMARY_HEIGHT),
        ):
            page = Path(folder) / f"{name}.html"
            page.write_text(html, encoding="utf-8")
            screenshot(page, out, args.width, height)
    print(
        f"{alert.subject}\n{args.out}\n{digest.subject}\n{args.digest_out}\n{summary.subject}\n{args.summary_out}"
    )


if __name__ == "__main__":
    main()
