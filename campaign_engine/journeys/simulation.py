"""Simulate a journey over a sample of stored contacts in simulated time: nothing is written.

Who enters: the current members of entry segments at the start (a recurring entry's, at its
first run); for event entries, the contacts whose matching events of the last `days` days,
replayed shifted forward by `days`, fall in the period; for API entries, every sampled
contact at the start.
Later events are not known, so the contacts' events of the last `days` days are replayed the
same way for goals, exit criteria and waits; orders count as `order_placed` events. Segment
memberships are today's. Opens and clicks are drawn at `open_rate` and `click_rate`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidQuery
from campaign_engine.errors import Problem as ErrorProblem
from campaign_engine.journeys.problems import JourneyInvalid
from campaign_engine.journeys.service import check_draft
from campaign_engine.models import Contact, Order, Segment
from campaign_engine.models import Event as EventRow
from campaign_engine.segments.definition import parse_definition
from campaign_engine.segments.fields import PROFILE_FIELDS
from campaign_engine.segments.service import members_select
from journeys import (
    Event,
    Facts,
    JourneyDefinition,
    ScriptedFacts,
    SimContact,
    entries_for_event,
    facts_needed,
    next_run,
    parse,
    simulate,
    stable_draw,
)
from journeys.nodes import EntryEventNode, EntryRecurringNode, EntrySegmentNode

ORDER_EVENT = "order_placed"
CHUNK = 900  # ids per IN list: under SQLite's bound-parameter limit
MAX_DAYS = 366
MAX_SAMPLE = 50_000
SEGMENT_ENTRIES = (EntrySegmentNode, EntryRecurringNode)
PROFILE_COLUMNS = tuple(name for name in PROFILE_FIELDS if hasattr(Contact, name))


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for begin in range(0, len(ids), CHUNK):
        yield list(ids[begin : begin + CHUNK])


def _check_options(days: int, sample: int) -> None:
    problems = []
    if not 1 <= days <= MAX_DAYS:
        problems.append(ErrorProblem("days", f"give 1 to {MAX_DAYS} days"))
    if not 1 <= sample <= MAX_SAMPLE:
        problems.append(ErrorProblem("sample", f"give a sample of 1 to {MAX_SAMPLE} contacts"))
    if problems:
        raise InvalidQuery("the simulation options are invalid", problems)


def _segment_members(
    session: Session, segment_id: int, now: datetime, among: Sequence[int] | None = None
) -> set[int]:
    row = session.get(Segment, segment_id)
    if row is None:
        return set()
    query = members_select(session, parse_definition(row.definition), now)
    if among is None:
        return set(session.scalars(query))
    found: set[int] = set()
    for chunk in _chunks(among):
        found |= set(session.scalars(query.where(Contact.id.in_(chunk))))
    return found


def _events(
    session: Session, types: Iterable[str], since: datetime, until: datetime,
    among: Sequence[int] | None,
) -> dict[int, list[Event]]:  # fmt: skip
    """Return events of `types` in [since, until) by contact, orders as `order_placed`."""
    wanted = set(types)
    found: dict[int, list[Event]] = {}
    chunks: Iterable[list[int] | None] = [None] if among is None else _chunks(among)
    for chunk in chunks:
        custom = wanted - {ORDER_EVENT}
        if custom:
            query = select(
                EventRow.contact_id, EventRow.type, EventRow.occurred_at, EventRow.properties
            ).where(
                EventRow.type.in_(custom),
                EventRow.occurred_at >= since,
                EventRow.occurred_at < until,
                EventRow.contact_id.is_not(None),
            )
            if chunk is not None:
                query = query.where(EventRow.contact_id.in_(chunk))
            for contact_id, kind, at, properties in session.execute(query):
                found.setdefault(contact_id, []).append(Event(kind, at, properties or {}))
        if ORDER_EVENT in wanted:
            orders = select(
                Order.contact_id, Order.ordered_at, Order.external_id, Order.revenue,
                Order.currency, Order.channel,
            ).where(Order.ordered_at >= since, Order.ordered_at < until)  # fmt: skip
            if chunk is not None:
                orders = orders.where(Order.contact_id.in_(chunk))
            for contact_id, at, order_id, revenue, currency, channel in session.execute(orders):
                properties = {"order_id": order_id, "revenue": float(revenue),
                              "currency": currency, "channel": channel}  # fmt: skip
                found.setdefault(contact_id, []).append(Event(ORDER_EVENT, at, properties))
    return found


def _replayed(events: Iterable[Event], shift: timedelta) -> list[Event]:
    return sorted(
        (Event(e.type, e.occurred_at + shift, e.properties) for e in events),
        key=lambda e: e.occurred_at,
    )


def _sampled(ids: Iterable[int], sample: int, seed: int) -> list[int]:
    ranked = sorted(set(ids), key=lambda cid: (stable_draw(f"sample:{seed}", str(cid)), cid))
    return sorted(ranked[:sample])


def _candidates(
    session: Session, definition: JourneyDefinition, start: datetime, days: int
) -> tuple[set[int], dict[int, list[Event]]]:
    """Return who could enter, and the replayed entry events of event-entry candidates."""
    candidates: set[int] = set()
    entry_events: dict[int, list[Event]] = {}
    kinds = {node.type for node in definition.entries}
    if "entry_api" in kinds:
        candidates |= set(session.scalars(select(Contact.id)))
    for node in definition.entries:
        if isinstance(node, SEGMENT_ENTRIES):
            candidates |= _segment_members(session, node.segment_id, start)
    event_types = {n.event_type for n in definition.entries if isinstance(n, EntryEventNode)}
    if event_types:
        shift = timedelta(days=days)
        past = _events(session, event_types, start - shift, start, None)
        for contact_id, events in past.items():
            replayed = [e for e in _replayed(events, shift) if entries_for_event(definition, e)]
            if replayed:
                entry_events[contact_id] = replayed
                candidates.add(contact_id)
    return candidates, entry_events


def _entry(
    definition: JourneyDefinition,
    start: datetime,
    contact_id: int,
    segment_entries: dict[str, set[int]],
    entry_events: dict[int, list[Event]],
) -> tuple[str | None, datetime]:
    """Return the entry a contact takes first, and when."""
    for node in definition.entries:
        if isinstance(node, EntryRecurringNode) and contact_id in segment_entries[node.id]:
            return node.id, next_run(node.schedule, start - timedelta(microseconds=1))
        if node.type == "entry_api" or contact_id in segment_entries.get(node.id, set()):
            return node.id, start
    for event in entry_events.get(contact_id, []):
        matched = entries_for_event(definition, event)
        if matched:
            return matched[0].id, event.occurred_at
    return None, start


def simulate_journey(
    session: Session,
    definition_json: Any,
    *,
    days: int = 30,
    sample: int = 2_000,
    start: datetime | None = None,
    seed: int = 0,
    open_rate: float = 0.2,
    click_rate: float = 0.03,
) -> dict[str, Any]:
    """Run a journey over up to `sample` stored contacts for `days` days; send nothing.

    Raise JourneyInvalid listing every problem when the definition cannot run. Returns
    `SimulationResult.to_json()` (per-step `nodes` counts, outcomes, goals, exits, sends) plus
    `population` (contacts that could enter) and `sampled`.
    """
    _check_options(days, sample)
    if problems := check_draft(session, definition_json):
        raise JourneyInvalid("the journey cannot be simulated", problems)
    definition = parse(definition_json)
    begin = (start or datetime.now(UTC)).astimezone(UTC)
    candidates, entry_events = _candidates(session, definition, begin, days)
    ids = _sampled(candidates, sample, seed)

    segment_ids: set[int] = set()
    event_types: set[str] = set()
    for node in definition.nodes:
        needs = facts_needed(definition, node.id)
        segment_ids |= needs.segment_ids
        event_types |= needs.event_types
    segment_entries = {
        node.id: _segment_members(session, node.segment_id, begin, ids)
        for node in definition.entries
        if isinstance(node, SEGMENT_ENTRIES)
    }
    memberships = {sid: _segment_members(session, sid, begin, ids) for sid in segment_ids}
    shift = timedelta(days=days)
    future = _events(session, event_types, begin - shift, begin, ids)

    contacts: list[SimContact] = []
    for chunk in _chunks(ids):
        rows = session.scalars(select(Contact).where(Contact.id.in_(chunk)).order_by(Contact.id))
        for contact in rows:
            entry_id, enters_at = _entry(definition, begin, contact.id, segment_entries,
                                         entry_events)  # fmt: skip
            if entry_id is None:
                continue
            attributes: dict[str, Any] = {name: getattr(contact, name) for name in PROFILE_COLUMNS}
            attributes["attributes"] = dict(contact.attributes or {})
            key = f"{seed}:{contact.id}"
            facts = Facts(
                attributes=attributes,
                time_zone=contact.time_zone,
                segments=frozenset(
                    s for s, members in memberships.items() if contact.id in members
                ),
                seed=key,
            )
            contacts.append(
                SimContact(
                    key=key,
                    facts=facts,
                    events=_replayed(future.get(contact.id, []), shift),
                    enters_at=enters_at,
                    entry_id=entry_id,
                )
            )
    result = simulate(
        definition,
        contacts,
        begin,
        days,
        ScriptedFacts(open_rate=open_rate, click_rate=click_rate),
    )
    return result.to_json() | {
        "population": len(candidates),
        "sampled": len(ids),
        "open_rate": open_rate,
        "click_rate": click_rate,
    }
