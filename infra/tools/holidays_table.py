"""Write functions/callbacks/core/us_holidays.json: the US federal holidays (observed days included) of
the years the functions look up, from the pinned ``holidays`` library.

    .venv/bin/python -m infra.tools.holidays_table        (make holidays)

The functions read this file instead of importing the library on every cold start (~0.6 s); a unit
test holds it to the library, so bumping the pin without running this fails the tests.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import holidays
from holidays.countries.united_states import UnitedStates

OUT = Path(__file__).resolve().parents[2] / "functions" / "callbacks" / "core" / "us_holidays.json"
FIRST_YEAR = 2025
LAST_YEAR = 2040


def table(first: int = FIRST_YEAR, last: int = LAST_YEAR) -> dict[str, Any]:
    days = UnitedStates(years=range(first, last + 1))
    return {
        "source": f"holidays {holidays.__version__}, UnitedStates() (federal, observed days included)",
        "years": [first, last],
        "dates": {day.isoformat(): name for day, name in sorted(days.items())},
    }


def main() -> None:
    OUT.write_text(json.dumps(table(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(OUT.parents[2])}")


if __name__ == "__main__":
    main()
