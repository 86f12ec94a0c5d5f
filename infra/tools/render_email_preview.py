"""Render a sample staff alert and photograph it at a phone's width with headless Chromium.

    .venv/bin/python -m infra.tools.render_email_preview [--width 390] [--height 780] [--out PATH]

Writes the picture to ``infra/docs/screenshots/staff-email-phone.png``.
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

from callbacks.mailer import render_staff_alert  # noqa: E402
from callbacks.models.record import ConsentRecord, StoredCallbackRequest  # noqa: E402
from callbacks.settings import Settings  # noqa: E402

SCREENSHOT = ROOT / "infra" / "docs" / "screenshots" / "staff-email-phone.png"
CREATED_AT = "2026-11-23T19:23:00Z"


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
    parser.add_argument("--height", type=int, default=780)
    parser.add_argument("--out", type=Path, default=SCREENSHOT)
    args = parser.parse_args()
    alert = render_staff_alert(sample_request(), Settings())
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "staff-alert.html"
        page.write_text(alert.html, encoding="utf-8")
        screenshot(page, args.out, args.width, args.height)
    print(f"{alert.subject}\n{args.out}")


if __name__ == "__main__":
    main()
