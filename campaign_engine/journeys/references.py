"""Which journeys refer to a template or segment, so neither is deleted while one is in use."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.errors import Conflict
from campaign_engine.errors import Problem as ErrorProblem
from campaign_engine.models import Journey, JourneyVersion

Kind = Literal["template", "segment"]
ID_KEYS: dict[str, Kind] = {
    "template_id": "template",
    "segment_id": "segment",
    "segment_ids": "segment",
}


@dataclass(frozen=True, slots=True)
class Reference:
    """A journey step (or its settings, node_id None) that names a template or segment."""

    journey_id: int
    journey_name: str
    node_id: str | None
    version: int | None  # None: the working draft


def _ids(data: Any, key: str | None = None) -> Iterator[tuple[Kind, int]]:
    if isinstance(data, Mapping):
        for k, value in data.items():
            yield from _ids(value, k)
    elif isinstance(data, list):
        for item in data:
            yield from _ids(item, key)
    elif key in ID_KEYS and isinstance(data, int) and not isinstance(data, bool):
        yield ID_KEYS[key], data


def referenced_ids(definition: Any) -> Iterator[tuple[str | None, Kind, int]]:
    """Yield (node id, kind, id) for every template and segment a definition names.

    Tolerates invalid drafts: anything that is not a list of objects is skipped.
    """
    if not isinstance(definition, Mapping):
        return
    for kind, found in _ids(definition.get("settings")):
        yield None, kind, found
    nodes = definition.get("nodes")
    for node in nodes if isinstance(nodes, list) else []:
        if isinstance(node, Mapping):
            node_id = node.get("id")
            for kind, found in _ids(node):
                yield (node_id if isinstance(node_id, str) else None), kind, found


def find_references(session: Session, kind: Kind, target_id: int) -> list[Reference]:
    """Return the live journeys that use a template or segment.

    Live: every version of a journey that is not archived, and the draft of one that has been
    published (the draft of a never-published journey is just a sketch; it shows a problem).
    """
    found: list[Reference] = []
    journeys = session.scalars(
        select(Journey).where(Journey.status != "archived").order_by(Journey.id)
    ).all()
    for journey in journeys:
        documents: list[tuple[int | None, Any]] = [
            (version, definition)
            for version, definition in session.execute(
                select(JourneyVersion.version, JourneyVersion.definition)
                .where(JourneyVersion.journey_id == journey.id)
                .order_by(JourneyVersion.version)
            )
        ]
        if journey.current_version_id is not None:
            documents.append((None, journey.draft))
        for version, definition in documents:
            for node_id, ref_kind, ref_id in referenced_ids(definition):
                if ref_kind == kind and ref_id == target_id:
                    found.append(Reference(journey.id, journey.name, node_id, version))
    return list(dict.fromkeys(found))


def refuse_if_referenced(session: Session, kind: Kind, target_id: int, label: str) -> None:
    """Raise Conflict naming each journey and step that uses the template or segment."""
    references = find_references(session, kind, target_id)
    if not references:
        return
    first = references[0]
    where = f"step {first.node_id!r}" if first.node_id else "its exit criteria"
    problems = [
        ErrorProblem(
            f"journey {ref.journey_id}"
            + (f", step {ref.node_id}" if ref.node_id else ", settings")
            + (f", version {ref.version}" if ref.version is not None else ", draft"),
            f"journey {ref.journey_name!r} uses this {kind}",
        )
        for ref in references
    ]
    raise Conflict(
        f"{label} is used by journey {first.journey_name!r} ({where}); change the journey first",
        problems,
    )
