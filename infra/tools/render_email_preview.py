"""Render a sample staff alert and a sample digest of overdue requests, and photograph each at a
phone's width with headless Chromium.

    .venv/bin/python -m infra.tools.render_email_preview [--width 390] [--height 900] [--out PATH]

Writes ``infra/docs/screenshots/staff-email-phone.png`` and ``overdue-digest-phone.png``.
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

from datetime import UTC, datetime  # noqa: E402

from callbacks.mailer import OverdueRequest, render_overdue_digest, render_staff_alert  # noqa: E402
from callbacks.models.record import ConsentRecord, StoredCallbackRequest  # noqa: E402
from callbacks.settings import Settings  # noqa: E402

SCREENSHOT = ROOT / "infra" / "docs" / "screenshots" / "staff-email-phone.png"
DIGEST_SCREENSHOT = SCREENSHOT.with_name("overdue-digest-phone.png")
CREATED_AT = "2026-11-23T19:23:00Z"
API = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1"


def sample_link(request_id: str) -> str:
    token = "1797354387.N2w4U_7o0hG-_15bSxDS9hKe8xrkkKefLbGVjyw8DKU"  # noqa: S105 - a made-up sample
    return f"{API}/callback-requests/{request_id}/contacted?token={token}"


def sample_overdue() -> list[OverdueRequest]:
    now = datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
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
        OverdueRequest(id=i, created_at=c, best_time=b, call_by=d, late_by=now - datetime.fromisoformat(d))
        for i, c, b, d in rows
    ]


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
    args = parser.parse_args()
    # The practice's own site, so that the sample's page is shown as a link.
    settings = Settings(allowed_origins=("https://www.accentplasticsurgery.example",))
    request = sample_request()
    alert = render_staff_alert(request, settings, sample_link(request.id))
    late = sample_overdue()
    digest = render_overdue_digest(
        late, {item.id: sample_link(item.id) for item in late}, datetime(2026, 11, 25, 19, 0, tzinfo=UTC)
    )
    with tempfile.TemporaryDirectory() as folder:
        for name, html, out in (
            ("staff-alert", alert.html, args.out),
            ("digest", digest.html, args.digest_out),
        ):
            page = Path(folder) / f"{name}.html"
            page.write_text(html, encoding="utf-8")
            screenshot(page, out, args.width, args.height)
    print(f"{alert.subject}\n{args.out}\n{digest.subject}\n{args.digest_out}")


if __name__ == "__main__":
    main()
