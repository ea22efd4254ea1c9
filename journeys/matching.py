"""Evaluate filters and conditions against a contact's facts.

A missing value never equals anything and is never greater or smaller: `eq`, `gt`, `in`
and `contains` are false for it, `ne` is true, and `exists` tells it apart.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, assert_never

from journeys.clock import as_utc
from journeys.facts import Event, Facts
from journeys.parts import (
    AnyCondition,
    AttributeCondition,
    Comparison,
    EngagementCondition,
    PropertyFilter,
    SegmentCondition,
)

_MISSING = object()
ORDER = {"gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le}


def lookup(data: Mapping[str, Any], path: str) -> Any:
    """Return the value at a dotted path (`attributes.tier`), or a marker when it is absent."""
    if path in data:
        return data[path]
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


def present(value: Any) -> bool:
    """Return True unless `value` is absent or null."""
    return value is not _MISSING and value is not None


def compare(test: Comparison, actual: Any) -> bool:
    """Return True when `actual` passes the comparison."""
    op, expected = test.op, test.value
    if op == "exists":
        return present(actual) == (expected is not False)
    if not present(actual):
        return op == "ne"
    if op == "eq":
        return _equal(actual, expected)
    if op == "ne":
        return not _equal(actual, expected)
    if op == "in":
        items = actual if isinstance(actual, list) else [actual]
        return any(_equal(item, option) for item in items for option in expected)
    if op == "contains":
        if isinstance(actual, str):
            return str(expected).casefold() in actual.casefold()
        if isinstance(actual, list):
            return any(_equal(item, expected) for item in actual)
        return False
    return _ordered(op, actual, expected)


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    return bool(actual == expected)


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def _ordered(op: str, actual: Any, expected: Any) -> bool:
    """Compare numbers as numbers, and dates or ISO text as text (ISO text sorts in time)."""
    left, right = _number(actual), _number(expected)
    if left is not None and right is not None:
        return bool(ORDER[op](left, right))
    if isinstance(actual, date):
        actual = actual.isoformat()
    if isinstance(actual, str) and isinstance(expected, str):
        return bool(ORDER[op](actual, expected))
    return False


def event_matches(event: Event, event_type: str, filters: Sequence[PropertyFilter]) -> bool:
    """Return True when the event has the type and passes every property filter."""
    if event.type != event_type:
        return False
    return all(compare(f, lookup(event.properties, f.property)) for f in filters)


def first_event(
    events: Sequence[Event],
    event_type: str,
    filters: Sequence[PropertyFilter],
    after: datetime,
    until: datetime,
) -> Event | None:
    """Return the earliest matching event strictly after `after` and at or before `until`."""
    found = [
        e
        for e in events
        if after < as_utc(e.occurred_at) <= until and event_matches(e, event_type, filters)
    ]
    return min(found, key=lambda e: as_utc(e.occurred_at)) if found else None


def engaged_at(facts: Facts, send_node: str, action: str) -> datetime | None:
    """Return when the contact opened (or clicked) a send step's message; a click is an open."""
    engagement = facts.engagement.get(send_node)
    if engagement is None:
        return None
    if action == "clicked":
        return engagement.clicked_at
    times = [t for t in (engagement.opened_at, engagement.clicked_at) if t is not None]
    return min(times) if times else None


def holds(condition: AnyCondition, facts: Facts, now: datetime) -> bool:
    """Return True when one split condition holds for the contact now."""
    match condition:
        case SegmentCondition():
            return (condition.segment_id in facts.segments) == condition.member
        case EngagementCondition():
            moment = engaged_at(facts, condition.send_node, condition.action)
            return moment is not None and moment <= now
        case AttributeCondition():
            return compare(condition, lookup(facts.attributes, condition.attribute))
        case _:
            assert_never(condition)
