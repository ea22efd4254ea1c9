"""Install a library journey as a draft: find or create the templates and segments it names.

Templates are found by name among the message templates (the starters are installed first).
Segments are found by their library name or by the name of the segment the library would
create; a missing one is created when the library knows a sensible definition for it
(mostly the documented example segments). Anything else must be chosen by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, NotFound
from campaign_engine.errors import Problem as ErrorProblem
from campaign_engine.journeys.service import create_journey
from campaign_engine.message_templates import install_starters
from campaign_engine.models import Journey, MessageTemplate, Segment
from campaign_engine.segments.examples import EXAMPLES
from campaign_engine.segments.service import create_segment
from journeys import LibraryJourney, library


def _segment(*children: dict[str, Any]) -> dict[str, Any]:
    return {"version": 1, "root": {"type": "all", "children": list(children)}}


def _example(name: str) -> tuple[str, str, dict[str, Any]]:
    description, definition = EXAMPLES[name]
    return name, description, definition


# Library segment name -> (stored segment name, description, segment definition).
LIBRARY_SEGMENTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "at_risk": _example("At-risk high-value customers"),
    "category_gap": _example("Software buyers who never bought a computer"),
    "vip_customers": _example("Best customers (RFM champions)"),
    "new_subscribers": (
        "New subscribers (last 30 days)",
        "Contacts who signed up in the last 30 days.",
        _segment({"type": "attribute", "field": "created_at", "op": "within_last", "days": 30}),
    ),
    "customers": (
        "Customers",
        "Contacts with at least one order.",
        _segment({"type": "trait", "field": "orders_total", "op": "gte", "value": 1}),
    ),
    "lapsed_customers": (
        "Lapsed customers",
        "Customers gone quiet: RFM group hibernating or lost.",
        _segment(
            {"type": "trait", "field": "rfm_group", "op": "in", "value": ["hibernating", "lost"]}
        ),
    ),
    "high_value": (
        "High-value customers",
        "At least 500 spent in total.",
        _segment({"type": "trait", "field": "revenue_total", "op": "gte", "value": 500}),
    ),
    "seasonal_only_buyers": (
        "Seasonal-only buyers",
        "Contacts whose orders all fall in one season (the custom attribute 'season' is set).",
        _segment({"type": "attribute", "field": "attributes.season", "op": "is_set"}),
    ),
}


def library_entries() -> list[dict[str, Any]]:
    """Return the library for listing: key, title, description, stage and what it requires."""
    return [
        {
            "key": entry.key,
            "title": entry.title,
            "description": entry.description,
            "stage": entry.stage,
            "requires": [{"kind": r.kind, "name": r.name} for r in entry.requires],
            "definition": dict(entry.definition),
        }
        for entry in library().values()
    ]


def get_library_journey(key: str) -> LibraryJourney:
    """Return a library journey by key or raise NotFound."""
    found = library().get(key)
    if found is None:
        raise NotFound(f"the journey library has no {key!r}; see `campaign-engine journey library`")
    return found


def _template_ids(session: Session, names: list[str]) -> dict[str, int]:
    rows = session.execute(
        select(MessageTemplate.name, MessageTemplate.id).where(
            MessageTemplate.name.in_(names), MessageTemplate.kind == "message"
        )
    )
    return {name: template_id for name, template_id in rows}


def _segment_id(session: Session, name: str) -> int | None:
    known = LIBRARY_SEGMENTS.get(name)
    names = [name] + ([known[0]] if known else [])
    return session.scalar(select(Segment.id).where(Segment.name.in_(names)).order_by(Segment.id))


def _create_segment(session: Session, name: str, user: str | None) -> int:
    stored_name, description, definition = LIBRARY_SEGMENTS[name]
    segment = create_segment(
        session, name=stored_name, description=description, definition=definition, created_by=user
    )
    return segment.id


def _free_name(session: Session, title: str) -> str:
    taken = set(
        session.scalars(
            select(Journey.name).where(func.lower(Journey.name).like(f"{title.lower()}%"))
        )
    )
    if title not in taken:
        return title
    number = 2
    while f"{title} ({number})" in taken:
        number += 1
    return f"{title} ({number})"


def install_from_library(
    session: Session,
    key: str,
    user: str | None = None,
    *,
    templates: Mapping[str, int] | None = None,
    segments: Mapping[str, int] | None = None,
) -> Journey:
    """Save a library journey as a draft named after its title (numbered if taken).

    `templates` and `segments` choose ids for placeholder names explicitly; the rest are found
    (or created) as described above. Raise InvalidInput listing every one still missing.
    """
    entry = get_library_journey(key)
    chosen_templates = dict(templates or {})
    chosen_segments = dict(segments or {})
    wanted_templates = [r.name for r in entry.requires if r.kind == "template"]
    wanted_templates = [n for n in wanted_templates if n not in chosen_templates]
    if wanted_templates:
        install_starters(session)
        chosen_templates |= _template_ids(session, wanted_templates)
    to_create: list[str] = []
    for requirement in entry.requires:
        if requirement.kind == "segment" and requirement.name not in chosen_segments:
            found = _segment_id(session, requirement.name)
            if found is not None:
                chosen_segments[requirement.name] = found
            elif requirement.name in LIBRARY_SEGMENTS:
                to_create.append(requirement.name)
    missing = [
        ErrorProblem(
            f"{r.kind}s.{r.name}",
            f"no {r.kind} named {r.name!r}; create it or choose one to use instead",
        )
        for r in entry.requires
        if r.name not in (chosen_templates if r.kind == "template" else chosen_segments)
        and not (r.kind == "segment" and r.name in to_create)
    ]
    if missing:
        raise InvalidInput(
            f"the library journey {entry.title!r} needs {len(missing)} more template(s) "
            "or segment(s)",
            missing,
        )
    for name in to_create:
        chosen_segments[name] = _create_segment(session, name, user)
    definition = entry.install(templates=chosen_templates, segments=chosen_segments)
    name = _free_name(session, entry.title)
    return create_journey(
        session, {"name": name, "description": entry.description, "definition": definition}, user
    )
