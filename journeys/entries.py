"""How contacts join a journey: entry steps, event matching, schedules, re-entry and holdout."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from croniter import croniter

from journeys.clock import as_utc, local_moment, zone_of
from journeys.definition import JourneyDefinition, Settings
from journeys.facts import HOLDOUT_KEY, Event, stable_draw
from journeys.matching import event_matches
from journeys.nodes import EntryEventNode, EntryNode, Schedule
from journeys.parts import time_of_day
from journeys.problems import JourneyError, Problem
from journeys.state import EnrollmentState

EVERY_DAYS_ANCHOR = date(2024, 1, 1)  # a Monday: every 7 days means Mondays unless told


def entry_nodes(definition: JourneyDefinition) -> tuple[EntryNode, ...]:
    """Return the journey's entry steps, in definition order."""
    return definition.entries


def start(definition: JourneyDefinition, entry_id: str, now: datetime) -> EnrollmentState:
    """Return the state of a contact entering by `entry_id` at `now` (then call `advance`)."""
    if not any(entry.id == entry_id for entry in definition.entries):
        message = f"{entry_id!r} is not an entry step of this journey."
        raise JourneyError([Problem(entry_id, None, message, "dangling_reference")])
    moment = as_utc(now)
    return EnrollmentState(node_id=entry_id, entered_at=moment, enrolled_at=moment)


def entries_for_event(definition: JourneyDefinition, event: Event) -> list[EntryEventNode]:
    """Return the event entries this event lets the contact in by."""
    return [
        entry
        for entry in definition.entries
        if isinstance(entry, EntryEventNode)
        and event_matches(event, entry.event_type, entry.filters)
    ]


def next_run(schedule: Schedule, after: datetime) -> datetime:
    """Return the first moment strictly after `after` when a recurring entry runs (UTC)."""
    after = as_utc(after)
    zone = zone_of(schedule.time_zone, "UTC")
    if schedule.cron is not None:
        following = croniter(schedule.cron, after.astimezone(zone)).get_next(datetime)
        if not isinstance(following, datetime):
            raise TypeError("croniter returned something other than a datetime")
        return as_utc(following)
    every = schedule.every_days or 1
    anchor = schedule.starts_on or EVERY_DAYS_ANCHOR
    day = max(anchor, after.astimezone(zone).date() - timedelta(days=1))
    day += timedelta(days=(-(day - anchor).days) % every)  # the first run day on or after
    at = time_of_day(schedule.at)
    while (moment := local_moment(day, at, zone)) <= after:
        day += timedelta(days=every)
    return moment


def may_enter(
    settings: Settings,
    *,
    entries: int,
    active: bool,
    last_entered_at: datetime | None,
    now: datetime,
) -> bool:
    """Return True when a contact may (re-)enter, given its earlier enrollments in the journey.

    `entries` counts its earlier enrollments (in any version), `active` says whether one is
    still running, `last_entered_at` is when the latest began.
    """
    if settings.max_entries is not None and entries >= settings.max_entries:
        return False
    if entries == 0:
        return True
    match settings.reentry:
        case "never":
            return False
        case "after_exit":
            return not active
        case "cooldown":
            if last_entered_at is None:
                return True
            cooldown = timedelta(days=settings.cooldown_days or 0)
            return as_utc(now) >= as_utc(last_entered_at) + cooldown


def in_holdout(definition: JourneyDefinition, seed: str) -> bool:
    """Return True when the enrollment seeded `seed` falls in the journey's holdout share."""
    return stable_draw(seed, HOLDOUT_KEY) * 100 < definition.settings.holdout_percent
