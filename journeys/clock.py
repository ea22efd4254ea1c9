"""When waits end: times of day in a contact's time zone, and dates such as birthdays.

Every moment handled here is an aware datetime; results are in UTC. Local times that do not
exist (the hour skipped when clocks go forward) move forward by the gap; local times that
happen twice (when clocks go back) mean the first one.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from journeys.parts import WEEKDAYS, Weekday


def as_utc(moment: datetime) -> datetime:
    """Return `moment` in UTC; a naive moment is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def zone_of(name: str | None, fallback: str) -> ZoneInfo:
    """Return the contact's time zone, or `fallback` when it is missing or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(fallback)


def local_moment(day: date, at: time, zone: ZoneInfo) -> datetime:
    """Return the UTC moment of wall-clock time `at` on `day` in `zone`.

    With fold=0 a time in a gap is read with the offset from before the change (02:30 on
    the night clocks jump from 02:00 to 03:00 is 03:30), and a repeated time is the first one.
    """
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def next_time_of_day(
    after: datetime, at: time, zone: ZoneInfo, weekdays: Collection[Weekday] = ()
) -> datetime:
    """Return the first moment at or after `after` when it is `at` in `zone` on `weekdays`."""
    after = as_utc(after)
    allowed = {WEEKDAYS.index(day) for day in weekdays} or set(range(7))
    first = after.astimezone(zone).date()
    for offset in range(9):
        day = first + timedelta(days=offset)
        if day.weekday() in allowed:
            candidate = local_moment(day, at, zone)
            if candidate >= after:
                return candidate
    raise AssertionError("a time of day on an allowed weekday recurs within 9 days")


def read_date(value: object) -> date | None:
    """Return the date in an attribute value (a date, a date-time, or ISO text), if any."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def anniversary(base: date, year: int) -> date:
    """Return `base` in `year`; 29 February falls on 28 February in common years."""
    try:
        return base.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def date_moment(
    after: datetime,
    base: date,
    *,
    days_before: int,
    yearly: bool,
    at: time,
    zone: ZoneInfo,
) -> datetime | None:
    """Return when to act for date `base`: `days_before` days earlier, at `at` in `zone`.

    Yearly dates (birthdays) give the next such moment at or after `after`; one-off dates
    (renewals) give their moment, or None when it has already passed.
    """
    after = as_utc(after)
    if not yearly:
        moment = local_moment(base - timedelta(days=days_before), at, zone)
        return moment if moment >= after else None
    year = after.astimezone(zone).year
    for candidate_year in range(year, year + 3):
        day = anniversary(base, candidate_year) - timedelta(days=days_before)
        moment = local_moment(day, at, zone)
        if moment >= after:
            return moment
    raise AssertionError("a yearly date recurs within three years")
