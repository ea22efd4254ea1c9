"""Segment use cases: save with validation, evaluate, preview with a funnel, member pages."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    case,
    cast,
    func,
    literal,
    null,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from campaign_engine.errors import Conflict, InvalidInput, NotFound, Problem
from campaign_engine.journeys.references import refuse_if_referenced
from campaign_engine.models import (
    CHANNELS,
    CONSENT_STATES,
    Campaign,
    CampaignSegment,
    Contact,
    Product,
    Segment,
    UpliftModel,
)
from campaign_engine.models.types import utcnow
from campaign_engine.segments.compiler import Context, compile_definition, condition
from campaign_engine.segments.definition import (
    AllGroup,
    AnyGroup,
    SegmentDefinition,
    parse_definition,
    referenced_segments,
)
from campaign_engine.segments.describe import describe
from campaign_engine.segments.fields import OPS_BY_KIND, PROFILE_FIELDS, RELATIVE_OPS, TRAIT_FIELDS
from campaign_engine.segments.uplift import SCORE_OPS
from campaign_engine.segments.validation import validate_definition

SAMPLE_COLUMNS = (
    Contact.id,
    Contact.external_id,
    Contact.email,
    Contact.first_name,
    Contact.last_name,
    Contact.city,
)
MAX_FUNNEL_STEPS = 16


@dataclass(frozen=True)
class SegmentRow:
    """A saved segment as the list pages show it."""

    id: int
    name: str
    description: str
    last_count: int | None
    last_evaluated_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True)
class FunnelStep:
    """How many contacts one top-level condition keeps, alone and combined with those before."""

    path: str
    label: str
    alone: int
    cumulative: int


@dataclass(frozen=True)
class Preview:
    """A segment's size now, a few members and its funnel."""

    count: int
    sample: list[dict[str, Any]]
    funnel: list[FunnelStep]
    seconds: float


@dataclass(frozen=True)
class MembersPage:
    """One page of a segment's or list's members, by ascending contact id."""

    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


def _stored_definition(session: Session, segment_id: int) -> SegmentDefinition:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id} does not exist")
    return parse_definition(segment.definition)


def context(session: Session, now: datetime) -> Context:
    """Return a compile context that loads referenced segments from the database."""
    return Context(now=now, load_segment=lambda sid: _stored_definition(session, sid))


def _check_name(session: Session, name: str, segment_id: int | None) -> str:
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput(
            "the name is invalid", [Problem("name", "give a name of 1-200 characters")]
        )
    clash = session.scalar(select(Segment.id).where(Segment.name == name))
    if clash is not None and clash != segment_id:
        raise Conflict(f"a segment named {name!r} already exists", [Problem("name", "taken")])
    return name


def create_segment(
    session: Session, *, name: str, description: str, definition: Any, created_by: str | None
) -> Segment:
    """Validate and store a new segment; its size is evaluated once on save."""
    checked = validate_definition(session, definition)
    segment = Segment(
        name=_check_name(session, name, None),
        description=description.strip(),
        definition=checked.model_dump(mode="json", exclude_none=True),
        created_by=created_by,
    )
    session.add(segment)
    session.flush()
    _record_count(session, segment, checked, utcnow())
    return segment


def update_segment(
    session: Session, segment_id: int, *, name: str, description: str, definition: Any
) -> Segment:
    """Replace a segment's name, description and definition after validating them."""
    segment = get_segment(session, segment_id)
    checked = validate_definition(session, definition, segment_id)
    segment.name = _check_name(session, name, segment_id)
    segment.description = description.strip()
    segment.definition = checked.model_dump(mode="json", exclude_none=True)
    segment.updated_at = utcnow()
    session.flush()
    _record_count(session, segment, checked, utcnow())
    return segment


def delete_segment(session: Session, segment_id: int) -> None:
    """Delete a segment unless another segment or a campaign refers to it."""
    segment = get_segment(session, segment_id)
    campaign = session.scalar(
        select(Campaign.name)
        .join(CampaignSegment, CampaignSegment.campaign_id == Campaign.id)
        .where(CampaignSegment.segment_id == segment_id)
        .limit(1)
    )
    if campaign is not None:
        raise Conflict(f"campaign {campaign!r} targets this segment; change it first")
    for other in session.scalars(select(Segment).where(Segment.id != segment_id)):
        refs = referenced_segments(parse_definition(other.definition))
        if any(ref == segment_id for _, ref in refs):
            raise Conflict(f"segment {other.name!r} refers to this segment; change it first")
    refuse_if_referenced(session, "segment", segment_id, f"segment {segment.name!r}")
    session.delete(segment)
    session.flush()


def get_segment(session: Session, segment_id: int) -> Segment:
    """Return a saved segment or raise NotFound."""
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id} does not exist")
    return segment


def list_segments(session: Session) -> list[SegmentRow]:
    """Return every saved segment, by name."""
    rows = session.execute(
        select(
            Segment.id,
            Segment.name,
            Segment.description,
            Segment.last_count,
            Segment.last_evaluated_at,
            Segment.updated_at,
        ).order_by(Segment.name)
    )
    return [SegmentRow(*row) for row in rows]


def tune_for_segments(session: Session) -> None:
    """Set PostgreSQL up for segment queries for the rest of this transaction.

    Room to hash large id sets (NOT IN and OR subplans fall back to a scan per row without
    it), and no JIT: compiling the wide expressions cost seconds and saved nothing.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL work_mem = '256MB'"))
        session.execute(text("SET LOCAL jit = off"))
        # Parallel workers would each rebuild every hashed subplan: more work on fewer cores.
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def members_select(session: Session, definition: SegmentDefinition, now: datetime) -> Select[Any]:
    """Return the select of member contact ids."""
    tune_for_segments(session)
    return compile_definition(definition, context(session, now))


def count_members(session: Session, definition: SegmentDefinition, now: datetime) -> int:
    """Return how many contacts the definition holds now."""
    stmt = members_select(session, definition, now)
    return session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


def _record_count(
    session: Session, segment: Segment, definition: SegmentDefinition, now: datetime
) -> int:
    count = count_members(session, definition, now)
    segment.last_count, segment.last_evaluated_at = count, now
    session.flush()
    return count


def evaluate_segment(session: Session, segment_id: int, now: datetime) -> int:
    """Count a saved segment's members now and remember the size and time."""
    segment = get_segment(session, segment_id)
    return _record_count(session, segment, parse_definition(segment.definition), now)


def preview_segment(
    session: Session, definition: Any, now: datetime, sample_size: int = 20
) -> Preview:
    """Return the count, a sample and the per-condition funnel of an unsaved definition.

    One pass over the contacts: each top-level condition sets one bit of a per-contact mask in
    a materialised CTE, which is then grouped for the funnel and read again for the sample.
    """
    started = time.perf_counter()
    checked = validate_definition(session, definition)
    tune_for_segments(session)
    ctx = context(session, now)
    root = checked.root
    steps = list(root.children) if isinstance(root, AllGroup | AnyGroup) else [root]
    shown = steps[:MAX_FUNNEL_STEPS]
    bits = [condition(step, ctx) for step in shown]
    full = (1 << len(shown)) - 1
    if len(shown) < len(steps):  # too many steps to show: the root gets a bit of its own
        bits.append(condition(root, ctx))
        member = (1 << len(shown), 1 << len(shown))
    else:  # the root follows from the steps' bits
        member = (full, 1) if isinstance(root, AnyGroup) else (full, full)
    mask = sum((case((bit, 1 << i), else_=0) for i, bit in enumerate(bits)), start=literal(0))
    flags = (
        select(Contact.id.label("id"), mask.label("mask"))
        .cte("segment_flags")
        .prefix_with("MATERIALIZED")
    )
    nothing = cast(null(), BigInteger)  # typed, so PostgreSQL can unite the two halves
    counts = select(flags.c.mask, func.count().label("n"), nothing.label("id")).group_by(
        flags.c.mask
    )
    test, wanted = member
    sample = (
        select(nothing.label("mask"), nothing.label("n"), flags.c.id)
        .where(flags.c.mask.op("&")(test) >= wanted)
        .order_by(flags.c.id)
        .limit(sample_size)
    )
    rows = session.execute(union_all(counts, select(sample.subquery()))).all()
    combos = [(m, n) for m, n, _ in rows if m is not None]
    sample_ids = [i for m, _, i in rows if m is None]
    funnel = _funnel(root, shown, combos)
    count = sum(n for m, n in combos if m & test >= wanted)
    sample_rows = session.execute(
        select(*SAMPLE_COLUMNS).where(Contact.id.in_(sample_ids)).order_by(Contact.id)
    )
    sample_list = [dict(row._mapping) for row in sample_rows]
    return Preview(count, sample_list, funnel, time.perf_counter() - started)


def _funnel(root: Any, shown: list[Any], combos: list[tuple[int, int]]) -> list[FunnelStep]:
    """Turn (mask, contacts) counts into each step's count alone and combined with those above."""
    grouped = isinstance(root, AllGroup | AnyGroup)
    is_any = isinstance(root, AnyGroup)
    funnel = []
    for i, step in enumerate(shown):
        bit, prefix = 1 << i, (1 << (i + 1)) - 1
        alone = sum(n for m, n in combos if m & bit)
        if is_any:
            cumulative = sum(n for m, n in combos if m & prefix)
        else:
            cumulative = sum(n for m, n in combos if m & prefix == prefix)
        path = f"root.children[{i}]" if grouped else "root"
        funnel.append(FunnelStep(path, describe(step), alone, cumulative))
    return funnel


def members_page(
    session: Session, segment_id: int, now: datetime, page: int, per_page: int
) -> MembersPage:
    """Return one page of a saved segment's current members."""
    segment = get_segment(session, segment_id)
    definition = parse_definition(segment.definition)
    ids = members_select(session, definition, now)
    total = _record_count(session, segment, definition, now)
    page_ids = ids.order_by(Contact.id).limit(per_page).offset((page - 1) * per_page)
    rows = session.execute(
        select(*SAMPLE_COLUMNS)
        .where(Contact.id.in_(page_ids.scalar_subquery()))
        .order_by(Contact.id)
    )
    return MembersPage([dict(r._mapping) for r in rows], total, page, per_page)


def catalogue(session: Session) -> dict[str, Any]:
    """Return what the segment builder offers: fields, operators and pickable values."""

    def fields(table: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"name": f.name, "label": f.label, "kind": f.kind, "choices": list(f.choices)}
            for f in table.values()
        ]

    categories = session.scalars(select(Product.category).distinct().order_by(Product.category))
    products = session.execute(select(Product.sku, Product.name).order_by(Product.sku).limit(1000))
    segments = session.execute(select(Segment.id, Segment.name).order_by(Segment.name))
    campaigns = session.execute(
        select(Campaign.id, Campaign.code, Campaign.name).order_by(Campaign.id.desc()).limit(1000)
    )
    models = session.scalars(select(UpliftModel.name).order_by(UpliftModel.name))
    return {
        "kinds": {kind: list(ops) for kind, ops in OPS_BY_KIND.items()},
        "relative_ops": list(RELATIVE_OPS),
        "fields": {"profile": fields(PROFILE_FIELDS), "traits": fields(TRAIT_FIELDS)},
        "categories": list(categories),
        "products": [{"sku": sku, "name": name} for sku, name in products],
        "segments": [{"id": i, "name": n} for i, n in segments],
        "campaigns": [{"id": i, "code": c, "name": n} for i, c, n in campaigns],
        "channels": list(CHANNELS),
        "consent_states": list(CONSENT_STATES),
        "uplift_models": list(models),
        "uplift_ops": list(SCORE_OPS),
    }
