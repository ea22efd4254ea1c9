"""Field comparisons as SQL: one operator on one column, never NULL, with dates resolved."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Float, and_, false, literal, not_, or_, true
from sqlalchemy.sql.elements import ColumnElement

from campaign_engine.segments.definition import as_utc, parse_moment
from campaign_engine.segments.fields import Kind
from campaign_engine.segments.sql import ascii_lower, month_day

ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def midnight(day: date) -> datetime:
    """Return midnight UTC at the start of `day`."""
    return datetime.combine(day, time(), tzinfo=UTC)


def compare(
    column: ColumnElement[Any],
    kind: Kind,
    op: str,
    value: Any,
    days: int | None,
    now: datetime,
) -> ColumnElement[bool]:
    """Return a never-NULL SQL test of `column <op> value` for a field of `kind`."""
    if op == "is_set":
        return column.is_not(None)
    if op == "is_not_set":
        return column.is_(None)
    if kind in ("date", "datetime"):
        test = _compare_moment(column, kind, op, value, days, now)
    else:
        test = _compare_plain(column, op, value)
    # A missing value fails every comparison; NOT of the whole is then its exact complement.
    return and_(column.is_not(None), test)


def _exact(value: Any) -> Any:
    """Bind a fractional number as a float, so an integer column's type never truncates it."""
    if isinstance(value, float) and not value.is_integer():
        return literal(value, Float())
    if isinstance(value, list):
        return [_exact(item) for item in value]
    return value


def _compare_plain(column: ColumnElement[Any], op: str, value: Any) -> ColumnElement[bool]:
    test: ColumnElement[bool]
    value = _exact(value)
    match op:
        case "eq":
            test = column == value
        case "ne":
            test = column != value
        case "lt":
            test = column < value
        case "lte":
            test = column <= value
        case "gt":
            test = column > value
        case "gte":
            test = column >= value
        case "between":
            test = and_(column >= value[0], column <= value[1])
        case "in":
            test = column.in_(value)
        case "not_in":
            test = column.not_in(value)
        case "contains":
            test = ascii_lower(column).contains(value.translate(ASCII_LOWER), autoescape=True)
        case "starts_with":
            test = ascii_lower(column).startswith(value.translate(ASCII_LOWER), autoescape=True)
        case "ends_with":
            test = ascii_lower(column).endswith(value.translate(ASCII_LOWER), autoescape=True)
        case _:
            raise ValueError(f"operator {op!r} does not apply here")
    return test


def _bounds(kind: Kind, raw: Any) -> tuple[Any, Any]:
    """Return [start, end) of a definition's date value for a column of `kind`."""
    moment = parse_moment(kind, raw)
    if isinstance(moment, datetime):
        return as_utc(moment), None
    if kind == "date":
        return moment, moment + timedelta(days=1)
    return midnight(moment), midnight(moment + timedelta(days=1))


def _compare_moment(
    column: ColumnElement[Any], kind: Kind, op: str, value: Any, days: int | None, now: datetime
) -> ColumnElement[bool]:
    today = now.astimezone(UTC).date()
    current: date | datetime = today if kind == "date" else now
    if op in ("within_last", "more_than_ago", "in_next"):
        assert days is not None
        if op == "in_next":
            return anniversary_within(column, today, days, utc=kind == "datetime")
        cutoff = current - timedelta(days=days)
        if op == "within_last":
            return and_(column >= cutoff, column <= current)
        return column < cutoff
    if op == "between":
        return and_(
            _compare_moment(column, kind, "gte", value[0], None, now),
            _compare_moment(column, kind, "lte", value[1], None, now),
        )
    start, end = _bounds(kind, value)
    if end is None:  # an exact date-time
        return _compare_plain(column, op, start)
    test: ColumnElement[bool]
    match op:
        case "eq":
            test = and_(column >= start, column < end)
        case "ne":
            test = or_(column < start, column >= end)
        case "lt":
            test = column < start
        case "lte":
            test = column < end
        case "gt":
            test = column >= end
        case "gte":
            test = column >= start
        case _:
            raise ValueError(f"operator {op!r} does not apply to dates")
    return test


def anniversary_within(
    column: ColumnElement[Any], today: date, days: int, utc: bool
) -> ColumnElement[bool]:
    """True when the column's month and day fall from `today` to `today + days`, inclusive."""
    wanted: set[int] = set()
    for offset in range(days + 1):
        day = today + timedelta(days=offset)
        wanted.add(day.month * 100 + day.day)
        if (day.month, day.day) == (2, 28) and not _is_leap(day.year):
            wanted.add(229)  # 29 February anniversaries fall on the 28th in common years
    return month_day(column, utc=utc).in_(sorted(wanted))


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def years_before(today: date, years: int) -> date:
    """Return the date `years` before `today` (29 February becomes the 28th)."""
    year = today.year - years
    if (today.month, today.day) == (2, 29) and not _is_leap(year):
        return date(year, 2, 28)
    return date(year, today.month, today.day)


def compare_age(
    birth_date: ColumnElement[date], op: str, value: Any, today: date
) -> ColumnElement[bool]:
    """Compare whole-year age (as of `today`) by turning it into bounds on the birth date."""
    if op == "is_set":
        return birth_date.is_not(None)
    if op == "is_not_set":
        return birth_date.is_(None)

    def at_least(years: int) -> ColumnElement[bool]:
        if years >= today.year:
            return false()  # born before year 1
        if years <= today.year - 9999:
            return true()
        return birth_date <= years_before(today, years)

    def at_most(years: int) -> ColumnElement[bool]:
        return not_(at_least(years + 1))

    def exactly(years: float) -> ColumnElement[bool]:
        if years != int(years) or years < 0:
            return false()
        return and_(at_least(int(years)), at_most(int(years)))

    match op:
        case "eq":
            test = exactly(value)
        case "ne":
            test = not_(exactly(value))
        case "lt":
            test = at_most(math.ceil(value) - 1)
        case "lte":
            test = at_most(math.floor(value))
        case "gt":
            test = at_least(math.floor(value) + 1)
        case "gte":
            test = at_least(max(math.ceil(value), 0))
        case "between":
            test = and_(at_least(max(math.ceil(value[0]), 0)), at_most(math.floor(value[1])))
        case "in":
            test = or_(*(exactly(v) for v in value))
        case "not_in":
            test = not_(or_(*(exactly(v) for v in value)))
        case _:
            raise ValueError(f"operator {op!r} does not apply to age")
    return and_(birth_date.is_not(None), test)
