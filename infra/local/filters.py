"""Lambda event filtering for the patterns the template uses: literal lists and ``prefix``.

Any other operator fails at startup, so a new pattern in template.yaml is never silently
misread as "match everything" or "match nothing".
"""

from __future__ import annotations

import json
from typing import Any

_SUPPORTED_OPERATORS = frozenset({"prefix"})


def compile_pattern(text: str) -> dict[str, Any]:
    pattern = json.loads(text)
    _check(pattern)
    return pattern  # type: ignore[no-any-return]


def _check(pattern: Any) -> None:
    if not isinstance(pattern, dict):
        raise ValueError(f"a filter pattern must be an object: {pattern!r}")
    for value in pattern.values():
        if isinstance(value, dict):
            _check(value)
        elif isinstance(value, list):
            for rule in value:
                if isinstance(rule, dict) and not set(rule) <= _SUPPORTED_OPERATORS:
                    raise NotImplementedError(f"the local stack cannot filter with {rule!r} yet")
        else:
            raise ValueError(f"a filter pattern's leaves must be lists: {value!r}")


def matches(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    """Whether ``record`` passes ``pattern``: every key present and matching (an AND of the keys)."""
    for key, expected in pattern.items():
        if key not in record:
            return False
        value = record[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif not any(_matches_rule(rule, value) for rule in expected):
            return False
    return True


def matches_any(patterns: list[dict[str, Any]], record: dict[str, Any]) -> bool:
    """Filters of one event source are ORed; no filter lets everything through."""
    return not patterns or any(matches(pattern, record) for pattern in patterns)


def _matches_rule(rule: Any, value: Any) -> bool:
    if isinstance(rule, dict):
        return isinstance(value, str) and value.startswith(str(rule["prefix"]))
    return bool(rule == value)
