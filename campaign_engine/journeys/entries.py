"""How contacts enter published journeys: events and orders as they arrive, segment joins,
recurring schedules and the API. New entries always get the journey's current version.

- **Events and orders** are walked by ascending id from saved cursors (`journey-events`,
  `journey-orders`); orders count as `order_placed` events. The first pass ever starts at the
  newest row, so history never floods journeys, and events that happened more than
  `ENTRY_WINDOW` ago (backfills) enter nobody. An id that is missing from the walk may belong
  to a transaction that has not committed yet, so the walk waits for it up to `GAP_GRACE`
  before passing it by. Events a journey waits for (waits, goals, exit criteria) also wake
  the contact's waiting enrollments, so the runner sees them within seconds.
- **Segment entries** diff the segment's members against a snapshot kept per journey and
  segment (a target list named `journey <id> segment <id>`): members not in it have joined.
  On the first check, which follows publishing, every current member counts as joining and
  enters (re-entry rules still apply), so a journey starts with the segment as it is.
- **Recurring entries** run when their schedule has a run time since the version's last
  check (cursor `journey-recurring:<version>`, counting from publication); missed runs
  collapse into one.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, exists, func, insert, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign_engine.bulk import key_in
from campaign_engine.errors import Conflict, DomainError, InvalidInput, NotFound, Problem
from campaign_engine.journeys.enrollment import definition_of, enroll
from campaign_engine.journeys.facts import ORDER_COLUMNS, order_event
from campaign_engine.models import (
    Contact,
    Event,
    Journey,
    JourneyEnrollment,
    JourneyVersion,
    Order,
    Segment,
    TargetList,
    TargetListMember,
    TrackingCursor,
)
from campaign_engine.models.types import utcnow
from campaign_engine.segments.definition import parse_definition
from campaign_engine.segments.service import members_select
from journeys import Event as JourneyEvent
from journeys import JourneyDefinition, entries_for_event, next_run
from journeys.nodes import (
    EntryApiNode,
    EntryRecurringNode,
    EntrySegmentNode,
    WaitForEventNode,
)

log = logging.getLogger(__name__)

EVENTS_CURSOR = "journey-events"
ORDERS_CURSOR = "journey-orders"
ENTRY_WINDOW = timedelta(days=1)
GAP_GRACE = timedelta(seconds=3)
WALK = 5_000
MAX_API_CONTACTS = 10_000
SNAPSHOT = cast(Table, TargetListMember.__table__)


@dataclass(frozen=True)
class Live:
    """A published journey's current version, parsed."""

    journey_id: int
    version: JourneyVersion
    definition: JourneyDefinition


def live_versions(session: Session) -> list[Live]:
    """Return the current version of every published journey (unparseable ones left out)."""
    rows = session.execute(
        select(Journey.id, JourneyVersion)
        .join(JourneyVersion, JourneyVersion.id == Journey.current_version_id)
        .where(Journey.status == "published")
        .order_by(Journey.id)
    )
    found = []
    for journey_id, version in rows:
        try:
            found.append(Live(journey_id, version, definition_of(version)))
        except Exception as error:  # a stored definition this engine cannot read
            log.warning("journey %d version %d cannot be read: %s", journey_id, version.id, error)
    return found


def _watched_types(session: Session) -> set[str]:
    """Return the event types any version of a published journey waits for, converts or exits on."""
    versions = session.scalars(
        select(JourneyVersion)
        .join(Journey, Journey.id == JourneyVersion.journey_id)
        .where(Journey.status == "published")
    )
    types: set[str] = set()
    for version in versions:
        try:
            definition = definition_of(version)
        except Exception:
            continue
        types.update(definition.settings.exit_criteria.event_types)
        types.update(goal.event_type for goal in definition.goals)
        types.update(n.event_type for n in definition.nodes if isinstance(n, WaitForEventNode))
    return types


def _cursor(
    session: Session, name: str, position: int, moved_at: datetime | None = None
) -> TrackingCursor | None:
    """Return the named cursor, locked for this transaction (None: another pass holds it)."""
    query = select(TrackingCursor).where(TrackingCursor.name == name)
    found = session.scalar(query.with_for_update(skip_locked=True))
    if found is not None:
        return found
    if session.get(TrackingCursor, name) is not None:
        return None  # it exists and is locked
    try:
        with session.begin_nested():
            session.add(TrackingCursor(name=name, position=position, moved_at=moved_at))
    except IntegrityError:
        return None  # a concurrent pass made it first
    return session.scalar(query)


def _walk(session: Session, name: str, table: Any, columns: Sequence[Any], limit: int) -> list[Any]:
    """Return the next rows after the cursor by id, stopping at a gap younger than the grace."""
    cursor = _cursor(session, name, session.scalar(select(func.max(table.id))) or 0, utcnow())
    if cursor is None:
        return []
    rows = session.execute(
        select(table.id, table.created_at, *columns)
        .where(table.id > cursor.position)
        .order_by(table.id)
        .limit(limit)
    ).all()
    wall = utcnow()  # commit delays are real time, whatever clock the caller runs on
    taken, expected = [], cursor.position + 1
    for row in rows:
        if row[0] != expected and row[1] > wall - GAP_GRACE:
            break  # an earlier id may still commit; look again next pass
        taken.append(row)
        expected = row[0] + 1
    if taken:
        cursor.position, cursor.moved_at = taken[-1][0], wall
    return taken


@dataclass(frozen=True)
class EventPass:
    """What one pass over new events did: contacts entered, and the most rows walked in a table."""

    entered: int
    walked: int


def enter_by_events(session: Session, now: datetime, limit: int = WALK) -> EventPass:
    """Enroll contacts whose new events (and orders) match an event entry."""
    arrived: list[tuple[int, JourneyEvent]] = []
    columns = (Event.contact_id, Event.type, Event.occurred_at, Event.properties)
    events = _walk(session, EVENTS_CURSOR, Event, columns, limit)
    for _, _, contact_id, kind, occurred_at, properties in events:
        if contact_id is not None:
            arrived.append((contact_id, JourneyEvent(kind, occurred_at, properties or {})))
    orders = _walk(session, ORDERS_CURSOR, Order, ORDER_COLUMNS, limit)
    for _, _, contact_id, *order in orders:
        arrived.append((contact_id, order_event(order)))
    walked = max(len(events), len(orders))
    if not arrived:
        return EventPass(0, walked)
    _wake(session, arrived, now)
    recent = [(c, e) for c, e in arrived if e.occurred_at >= now - ENTRY_WINDOW]
    groups: dict[tuple[int, str], set[int]] = defaultdict(set)
    lives = {live.version.id: live for live in live_versions(session)}
    for live in lives.values():
        for contact_id, event in recent:
            matched = entries_for_event(live.definition, event)
            if matched:
                groups[(live.version.id, matched[0].id)].add(contact_id)
    entered = sum(
        enroll(session, lives[version_id].version, contacts, entry_id, now)
        for (version_id, entry_id), contacts in sorted(groups.items())
    )
    return EventPass(entered, walked)


def _wake(session: Session, arrived: Sequence[tuple[int, JourneyEvent]], now: datetime) -> None:
    """Make waiting enrollments of contacts with watched events due now."""
    watched = _watched_types(session)
    contacts = sorted({c for c, e in arrived if e.type in watched})
    if not contacts:
        return
    e = JourneyEnrollment
    session.execute(
        update(e)
        .where(key_in(session, e.contact_id, contacts), e.status == "waiting")
        .where(e.due_at.is_(None) | (e.due_at > now))
        .values(due_at=now)
        .execution_options(synchronize_session=False)
    )


def enter_by_segments(session: Session, now: datetime) -> int:
    """Enroll contacts who joined an entry segment since the last check; return how many."""
    entered = 0
    for live in live_versions(session):
        for entry in live.definition.entries:
            if isinstance(entry, EntrySegmentNode):
                joined = _joiners(session, live.journey_id, entry.segment_id, now)
                if joined:
                    entered += enroll(session, live.version, joined, entry.id, now)
    return entered


def _members(session: Session, segment_id: int, now: datetime) -> Any:
    segment = session.get(Segment, segment_id)
    if segment is None:
        log.warning("journey entry: segment %d no longer exists", segment_id)
        return None
    try:
        return members_select(session, parse_definition(segment.definition), now)
    except DomainError as error:
        log.warning("journey entry: segment %d cannot be evaluated: %s", segment_id, error)
        return None


def _joiners(session: Session, journey_id: int, segment_id: int, now: datetime) -> list[int]:
    """Return the segment's members missing from the snapshot, and bring the snapshot up to date."""
    members = _members(session, segment_id, now)
    if members is None:
        return []
    name = f"journey {journey_id} segment {segment_id}"
    snapshot = session.scalar(
        select(TargetList)
        .where(TargetList.name == name, TargetList.kind == "snapshot")
        .with_for_update()
    )
    if snapshot is None:
        snapshot = TargetList(name=name, kind="snapshot", segment_id=segment_id, created_at=now)
        session.add(snapshot)
        session.flush()
    current = members.subquery()
    m = SNAPSHOT.c
    joined = list(
        session.scalars(
            insert(SNAPSHOT)
            .from_select(
                ["list_id", "contact_id", "position"],
                select(literal(snapshot.id), current.c.id, literal(0)).where(
                    ~exists().where(m.list_id == snapshot.id, m.contact_id == current.c.id)
                ),
            )
            .returning(m.contact_id)
        )
    )
    session.execute(
        delete(SNAPSHOT).where(m.list_id == snapshot.id, m.contact_id.not_in(select(current.c.id)))
    )
    snapshot.definition = {"segment_id": segment_id, "checked_at": now.isoformat()}
    snapshot.size = session.scalar(select(func.count()).where(m.list_id == snapshot.id)) or 0
    return joined


def enter_on_schedule(session: Session, now: datetime) -> int:
    """Enroll the segment's members for every recurring entry whose run time has come."""
    entered = 0
    for live in live_versions(session):
        recurring = [e for e in live.definition.entries if isinstance(e, EntryRecurringNode)]
        if not recurring:
            continue
        name = f"journey-recurring:{live.version.id}"
        cursor = _cursor(session, name, 0, live.version.published_at)
        if cursor is None:
            continue
        last = cursor.moved_at or live.version.published_at
        for entry in recurring:
            if next_run(entry.schedule, last) > now:
                continue
            members = _members(session, entry.segment_id, now)
            if members is not None:
                entered += enroll(session, live.version, session.scalars(members), entry.id, now)
        cursor.moved_at = max(now, last)
    return entered


@dataclass(frozen=True)
class ApiEntry:
    """What an API enrollment did: how many entered, were refused by re-entry, were unknown."""

    entered: int
    refused: int
    unknown: list[str]


def enroll_by_api(
    session: Session,
    journey_id: int,
    *,
    contact_ids: Sequence[int] = (),
    external_ids: Sequence[str] = (),
    entry_id: str | None = None,
    now: datetime,
) -> ApiEntry:
    """Enroll contacts, named by id or external id, through a journey's API entry."""
    if len(contact_ids) + len(external_ids) > MAX_API_CONTACTS:
        raise InvalidInput(
            "too many contacts", [Problem("body", f"at most {MAX_API_CONTACTS:,} per request")]
        )
    journey = session.get(Journey, journey_id)
    if journey is None:
        raise NotFound(f"journey {journey_id} does not exist")
    version = session.get(JourneyVersion, journey.current_version_id or 0)
    if journey.status != "published" or version is None:
        raise Conflict(
            f"journey {journey_id} is {journey.status}; only a published one takes entries"
        )
    api = [e.id for e in definition_of(version).entries if isinstance(e, EntryApiNode)]
    if entry_id is None and api:
        entry_id = api[0]
    if entry_id not in api:
        wanted = f"the step {entry_id!r} is not an API entry" if entry_id else "it has no API entry"
        raise Conflict(f"journey {journey_id} cannot take API entries: {wanted}")
    assert entry_id is not None
    targets: set[int] = set()
    unknown: set[str] = set()
    if contact_ids:
        known = set(
            session.scalars(select(Contact.id).where(key_in(session, Contact.id, contact_ids)))
        )
        targets |= known
        unknown |= {str(i) for i in contact_ids if i not in known}
    if external_ids:
        rows = session.execute(
            select(Contact.external_id, Contact.id).where(
                key_in(session, Contact.external_id, list(external_ids))
            )
        )
        by_key = dict(rows.all())
        targets |= set(by_key.values())
        unknown |= {key for key in external_ids if key not in by_key}
    entered = enroll(session, version, targets, entry_id, now)
    return ApiEntry(entered=entered, refused=len(targets) - entered, unknown=sorted(unknown))
