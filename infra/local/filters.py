"""Lambda event filtering (an event source mapping's ``FilterCriteria``), by moto's own matcher.

Lambda's filter patterns are EventBridge's event patterns, which moto implements in full (values,
``prefix``, ``anything-but``, ``numeric``, ``exists`` ...), so the local stack reads any pattern
the template may come to use.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from moto.events.models import EventPattern


def compile_pattern(text: str) -> EventPattern:
    from moto.events.models import EventPattern  # on first use: moto takes a second to import

    return EventPattern.load(text)


def matches_any(patterns: list[EventPattern], record: dict[str, Any]) -> bool:
    """Filters of one event source are ORed; no filter lets everything through."""
    # moto's matcher copies the record through JSON: a boto3 record's datetimes pass as text.
    record = json.loads(json.dumps(record, default=str))
    return not patterns or any(pattern.matches_event(record) for pattern in patterns)
