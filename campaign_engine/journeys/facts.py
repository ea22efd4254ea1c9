"""Gather in a few bulk queries the facts a batch of enrollments needs to advance.

`facts_needed` says, per enrollment's current step, which segments, event types, engagement,
attributes, time zone and uplift score `advance` may read; this module fetches exactly those
for the whole batch. Orders reach journeys as `order_placed` events. Uplift scores come from
the stored scores (`uplift_scores`); an unscored contact takes the uplift split's fallback.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from campaign_engine.bulk import key_in
from campaign_engine.errors import DomainError
from campaign_engine.models import (
    Contact,
    Delivery,
    Event,
    Order,
    Segment,
    UpliftModel,
    UpliftModelVersion,
    UpliftScore,
)
from campaign_engine.segments.definition import parse_definition
from campaign_engine.segments.service import members_select
from journeys import Engagement, EnrollmentState, FactNeeds, Facts, JourneyDefinition, facts_needed
from journeys import Event as JourneyEvent

log = logging.getLogger(__name__)

ORDER_EVENT = "order_placed"
# What an order tells journeys, as an `order_placed` event (after its contact id).
ORDER_COLUMNS = (
    Order.contact_id,
    Order.ordered_at,
    Order.external_id,
    Order.revenue,
    Order.currency,
    Order.campaign_code,
    Order.channel,
)


def order_event(order: Sequence[Any]) -> JourneyEvent:
    """Return an order (the values of ORDER_COLUMNS after the contact id) as journeys see it."""
    ordered_at, external_id, revenue, currency, code, channel = order
    properties = {
        "order_id": external_id,
        "revenue": revenue,
        "currency": currency,
        "campaign_code": code,
        "channel": channel,
    }
    return JourneyEvent(ORDER_EVENT, ordered_at, properties)


CUSTOM = "attributes."
CONTACT_COLUMNS = frozenset(c.name for c in Contact.__table__.columns)


@dataclass(frozen=True, slots=True)
class Pending:
    """One claimed enrollment about to be advanced."""

    enrollment_id: int
    contact_id: int
    definition: JourneyDefinition
    state: EnrollmentState


def delivery_key(enrollment_id: int, node_id: str) -> str:
    """Return the ledger key of a journey send: one per send step per enrollment."""
    return f"journey:{enrollment_id}:{node_id}"


def gather(session: Session, batch: Sequence[Pending], now: datetime) -> dict[int, Facts]:
    """Return the facts of each enrollment in `batch`, by enrollment id."""
    needs = {p.enrollment_id: facts_needed(p.definition, p.state.node_id) for p in batch}
    profiles = _profiles(session, [p for p in batch if _reads_profile(needs[p.enrollment_id])])
    segments = _segments(session, batch, needs, now)
    events = _events(session, batch, needs, now)
    engagement = _engagement(session, batch, needs)
    scores = _uplift_scores(session, batch, needs)
    facts = {}
    for p in batch:
        attributes, time_zone = profiles.get(p.contact_id, ({}, None))
        default_score = scores.get((p.contact_id, None), (None, None))
        facts[p.enrollment_id] = Facts(
            attributes=attributes,
            time_zone=time_zone,
            segments=frozenset(segments.get(p.contact_id, ())),
            events=tuple(events.get(p.enrollment_id, ())),
            engagement=engagement.get(p.enrollment_id, {}),
            uplift_score=default_score[0],
            uplift_percentile=default_score[1],
            uplift_by_model={
                name: scores.get((p.contact_id, name), (None, None))
                for name in needs[p.enrollment_id].uplift_models
            },
            seed=str(p.enrollment_id),
        )
    return facts


def _reads_profile(needs: FactNeeds) -> bool:
    return bool(needs.attributes) or needs.time_zone


Scores = dict[tuple[int, str | None], tuple[float | None, float | None]]


def _uplift_scores(
    session: Session, batch: Sequence[Pending], needs: Mapping[int, FactNeeds]
) -> Scores:
    """Return (score, percentile) by (contact, model name); None names the default model.

    The default model is the one whose version was promoted most recently.
    """
    names: set[str] = set()
    for p in batch:
        names |= needs[p.enrollment_id].uplift_models
    keys: dict[int, list[str | None]] = defaultdict(list)  # model id → names it answers to
    if names:
        for name, model_id in session.execute(
            select(UpliftModel.name, UpliftModel.id).where(UpliftModel.name.in_(names))
        ):
            keys[model_id].append(name)
    if any(needs[p.enrollment_id].uplift for p in batch):
        latest = session.scalar(
            select(UpliftModelVersion.model_id)
            .where(UpliftModelVersion.status == "promoted")
            .order_by(UpliftModelVersion.promoted_at.desc())
            .limit(1)
        )
        if latest is not None:
            keys[latest].append(None)
    if not keys:
        return {}
    ids = sorted({p.contact_id for p in batch})
    scores: Scores = {}
    for model_id, contact_id, score, percentile in session.execute(
        select(
            UpliftScore.model_id, UpliftScore.contact_id, UpliftScore.score, UpliftScore.percentile
        ).where(UpliftScore.model_id.in_(list(keys)), key_in(session, UpliftScore.contact_id, ids))
    ):
        for key in keys[model_id]:
            scores[(contact_id, key)] = (score, percentile)
    return scores


def _profiles(
    session: Session, batch: Sequence[Pending]
) -> dict[int, tuple[dict[str, Any], str | None]]:
    """Return (profile, time zone) per contact: built-in fields asked for, custom attributes."""
    if not batch:
        return {}
    fields: set[str] = set()
    for p in batch:
        for name in facts_needed(p.definition, p.state.node_id).attributes:
            if not name.startswith(CUSTOM) and name in CONTACT_COLUMNS:
                fields.add(name)
    table: Table = Contact.__table__  # type: ignore[assignment]
    named = sorted(fields - {"id", "time_zone", "attributes"})
    columns = [table.c.id, table.c.time_zone, table.c.attributes, *(table.c[n] for n in named)]
    ids = sorted({p.contact_id for p in batch})
    profiles = {}
    for row in session.execute(select(*columns).where(key_in(session, table.c.id, ids))):
        contact_id, time_zone, custom, *values = row
        profile: dict[str, Any] = dict(zip(named, values, strict=True))
        profile.update(id=contact_id, time_zone=time_zone, attributes=custom or {})
        profiles[contact_id] = (profile, time_zone)
    return profiles


def _segments(
    session: Session, batch: Sequence[Pending], needs: Mapping[int, FactNeeds], now: datetime
) -> dict[int, set[int]]:
    """Return, per contact, the asked-for segments it is in now (evaluated for these only)."""
    wanted: dict[int, set[int]] = defaultdict(set)  # segment → contacts to test
    for p in batch:
        for segment_id in needs[p.enrollment_id].segment_ids:
            wanted[segment_id].add(p.contact_id)
    found: dict[int, set[int]] = defaultdict(set)
    for segment_id, contacts in sorted(wanted.items()):
        stored = session.get(Segment, segment_id)
        if stored is None:  # deleted since publishing: nobody is in it
            log.warning("journey facts: segment %d no longer exists", segment_id)
            continue
        try:
            members = members_select(session, parse_definition(stored.definition), now)
        except DomainError as error:
            log.warning("journey facts: segment %d cannot be evaluated: %s", segment_id, error)
            continue
        query = members.where(key_in(session, Contact.id, sorted(contacts)))
        for contact_id in session.scalars(query):
            found[contact_id].add(segment_id)
    return found


def _events(
    session: Session, batch: Sequence[Pending], needs: Mapping[int, FactNeeds], now: datetime
) -> dict[int, list[JourneyEvent]]:
    """Return, per enrollment, its contact's events of the asked-for types since it arrived."""
    asking = [p for p in batch if needs[p.enrollment_id].event_types]
    if not asking:
        return {}
    types = sorted({t for p in asking for t in needs[p.enrollment_id].event_types})
    contacts = sorted({p.contact_id for p in asking})
    since = min(p.state.entered_at for p in asking)
    by_contact: dict[int, list[JourneyEvent]] = defaultdict(list)
    rows = session.execute(
        select(Event.contact_id, Event.type, Event.occurred_at, Event.properties)
        .where(key_in(session, Event.contact_id, contacts))
        .where(Event.type.in_(types), Event.occurred_at > since, Event.occurred_at <= now)
    )
    for contact_id, kind, occurred_at, properties in rows:
        by_contact[contact_id].append(JourneyEvent(kind, occurred_at, properties or {}))
    if ORDER_EVENT in types:
        orders = session.execute(
            select(*ORDER_COLUMNS)
            .where(key_in(session, Order.contact_id, contacts))
            .where(Order.ordered_at > since, Order.ordered_at <= now)
        )
        for contact_id, *order in orders:
            by_contact[contact_id].append(order_event(order))
    return {
        p.enrollment_id: [
            e
            for e in by_contact.get(p.contact_id, ())
            if e.type in needs[p.enrollment_id].event_types and e.occurred_at > p.state.entered_at
        ]
        for p in asking
    }


def _engagement(
    session: Session, batch: Sequence[Pending], needs: Mapping[int, FactNeeds]
) -> dict[int, dict[str, Engagement]]:
    """Return, per enrollment, when it opened and clicked each asked-for send step's message."""
    keys = {
        delivery_key(p.enrollment_id, node_id): (p.enrollment_id, node_id)
        for p in batch
        for node_id in needs[p.enrollment_id].engagement_nodes
    }
    if not keys:
        return {}
    found: dict[int, dict[str, Engagement]] = defaultdict(dict)
    rows = session.execute(
        select(Delivery.key, Delivery.opened_at, Delivery.clicked_at).where(
            key_in(session, Delivery.key, sorted(keys))
        )
    )
    for key, opened_at, clicked_at in rows:
        enrollment_id, node_id = keys[key]
        found[enrollment_id][node_id] = Engagement(opened_at, clicked_at)
    return found
