"""The practice's office: the number a visitor can always call, and the time zone its staff keep."""

from __future__ import annotations

OFFICE_PHONE = "662-377-6290"
OFFICE_PHONE_E164 = "+16623776290"
OFFICE_TIME_ZONE = "America/Chicago"  # Tupelo, Mississippi
