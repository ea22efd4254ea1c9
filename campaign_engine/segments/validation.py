"""Check a definition against the database: the segments, campaigns and uplift models it names."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.models import Campaign, Segment, UpliftModel
from campaign_engine.segments.definition import (
    SegmentDefinition,
    parse_definition,
    referenced_campaigns,
    referenced_segments,
    walk,
)
from campaign_engine.segments.uplift import UpliftCondition


def validate_definition(
    session: Session, data: Any, segment_id: int | None = None
) -> SegmentDefinition:
    """Parse `data`; check its segments exist without a cycle, and its campaigns and models."""
    try:
        definition = parse_definition(data)
    except InvalidInput as exc:
        raise _located(exc) from None
    problems = []
    for path, ref in referenced_segments(definition):
        if ref == segment_id:
            problems.append(Problem(f"definition.{path}", "a segment cannot include itself"))
        elif session.get(Segment, ref) is None:
            problems.append(Problem(f"definition.{path}", f"segment {ref} does not exist"))
        elif segment_id is not None and (chain := _path_back(session, ref, segment_id)):
            problems.append(
                Problem(
                    f"definition.{path}",
                    f"segment {ref} refers back to this one ({' -> '.join(map(str, chain))}): "
                    "segments may not form a cycle",
                )
            )
    problems += _missing_campaigns(session, definition)
    problems += _missing_models(session, definition)
    if problems:
        raise InvalidInput("the segment definition is invalid", problems)
    return definition


def _missing_campaigns(session: Session, definition: SegmentDefinition) -> list[Problem]:
    """Return a problem for every message condition naming a campaign that does not exist."""
    problems = []
    for path, node in referenced_campaigns(definition):
        if node.campaign_id is not None and session.get(Campaign, node.campaign_id) is None:
            problems.append(
                Problem(
                    f"definition.{path}.campaign_id", f"campaign {node.campaign_id} does not exist"
                )
            )
        code = node.campaign_code
        if (
            code is not None
            and session.scalar(select(Campaign.id).where(Campaign.code == code)) is None
        ):
            problems.append(
                Problem(f"definition.{path}.campaign_code", f"no campaign has the code {code!r}")
            )
    return problems


def _missing_models(session: Session, definition: SegmentDefinition) -> list[Problem]:
    """Return a problem for every uplift condition naming a model that does not exist."""
    named = [
        (path, node.model)
        for path, node in walk(definition.root)
        if isinstance(node, UpliftCondition)
    ]
    if not named:
        return []
    wanted = {name for _, name in named}
    known = set(session.scalars(select(UpliftModel.name).where(UpliftModel.name.in_(wanted))))
    return [
        Problem(f"definition.{path}.model", f"uplift model {name!r} does not exist")
        for path, name in named
        if name not in known
    ]


def _path_back(session: Session, start: int, target: int) -> list[int] | None:
    """Return a chain of references from `start` to `target`, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        current, chain = stack.pop()
        if current == target:
            return chain
        if current in seen or (segment := session.get(Segment, current)) is None:
            continue
        seen.add(current)
        for _, ref in referenced_segments(parse_definition(segment.definition)):
            stack.append((ref, [*chain, ref]))
    return None


def _located(exc: InvalidInput) -> InvalidInput:
    """Prefix problem locations with `definition.` as API bodies nest the definition there."""
    problems = [Problem(f"definition.{p.location}".rstrip("."), p.message) for p in exc.problems]
    return InvalidInput(exc.message, problems)
