"""Segment and target-list endpoints: CRUD, preview, members, snapshots, uploads, CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from flask import Response, jsonify, request, stream_with_context
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from campaign_engine.api import api_blueprint, json_body, requires_scope
from campaign_engine.db import transaction
from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.ingest.batch import problems_of
from campaign_engine.models import Segment, TargetList
from campaign_engine.segments import service, target_lists
from campaign_engine.web import current_runtime

B = TypeVar("B", bound=BaseModel)
MAX_PER_PAGE = 1_000


class Body(BaseModel):
    """Base of request bodies: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class SegmentBody(Body):
    """Create or replace a segment."""

    name: str
    description: str = ""
    definition: Any


class PreviewBody(Body):
    """Preview an unsaved definition."""

    definition: Any
    sample_size: Annotated[int, Field(ge=0, le=100)] = 20


class ListOptions(Body):
    """How a snapshot (or an export) orders, de-duplicates and limits members."""

    sort_by: str | None = None
    descending: bool = True
    limit: int | None = None
    dedupe_by: Literal["email", "phone"] | None = None


class SnapshotBody(ListOptions):
    """Freeze a segment into a target list."""

    name: str


class StaticListBody(Body):
    """Upload a list as CSV text matched to contacts by one column."""

    name: str
    match_by: Literal["external_id", "email", "phone"] = "email"
    csv: str


def _parse(model: type[B], data: Any) -> B:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput("the request body is invalid", problems_of(error)) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _page_args() -> tuple[int, int]:
    problems = []
    values = {}
    for name, default, top in (("page", 1, 10**9), ("per_page", 100, MAX_PER_PAGE)):
        raw = request.args.get(name, str(default))
        if not raw.isdigit() or not 1 <= int(raw) <= top:
            problems.append(Problem(name, f"give a whole number from 1 to {top}"))
        else:
            values[name] = int(raw)
    if problems:
        raise InvalidInput("the paging parameters are invalid", problems)
    return values["page"], values["per_page"]


def _segment_json(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "name": segment.name,
        "description": segment.description,
        "definition": segment.definition,
        "last_count": segment.last_count,
        "last_evaluated_at": segment.last_evaluated_at,
        "created_at": segment.created_at,
        "updated_at": segment.updated_at,
    }


def _list_json(target: TargetList) -> dict[str, Any]:
    return {
        "id": target.id,
        "name": target.name,
        "kind": target.kind,
        "segment_id": target.segment_id,
        "size": target.size,
        "sort_by": target.sort_by,
        "sort_descending": target.sort_descending,
        "limit": target.limit,
        "dedupe_by": target.dedupe_by,
        "created_at": target.created_at,
    }


def _csv_response(chunks: Iterator[str], filename: str) -> Response:
    return Response(
        stream_with_context(chunks),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@api_blueprint.get("/segments")
@requires_scope("read")
def list_segments() -> Response:
    """List saved segments with their last known size."""
    with transaction(current_runtime().sessions) as session:
        rows = service.list_segments(session)
    return jsonify(segments=[vars(row) for row in rows])


@api_blueprint.post("/segments")
@requires_scope("segments")
def create_segment() -> tuple[Response, int]:
    """Validate and save a segment."""
    body = _parse(SegmentBody, json_body())
    with transaction(current_runtime().sessions) as session:
        segment = service.create_segment(
            session,
            name=body.name,
            description=body.description,
            definition=body.definition,
            created_by=None,
        )
        return jsonify(_segment_json(segment)), 201


@api_blueprint.get("/segments/<int:segment_id>")
@requires_scope("read")
def get_segment(segment_id: int) -> Response:
    """Return one segment with its definition."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(_segment_json(service.get_segment(session, segment_id)))


@api_blueprint.put("/segments/<int:segment_id>")
@requires_scope("segments")
def update_segment(segment_id: int) -> Response:
    """Replace a segment's name, description and definition."""
    body = _parse(SegmentBody, json_body())
    with transaction(current_runtime().sessions) as session:
        segment = service.update_segment(
            session,
            segment_id,
            name=body.name,
            description=body.description,
            definition=body.definition,
        )
        return jsonify(_segment_json(segment))


@api_blueprint.delete("/segments/<int:segment_id>")
@requires_scope("segments")
def delete_segment(segment_id: int) -> tuple[str, int]:
    """Delete a segment no other segment refers to."""
    with transaction(current_runtime().sessions) as session:
        service.delete_segment(session, segment_id)
    return "", 204


@api_blueprint.post("/segments/preview")
@requires_scope("read")
def preview_segment() -> Response:
    """Count an unsaved definition, with a sample and a per-condition funnel."""
    body = _parse(PreviewBody, json_body())
    with transaction(current_runtime().sessions) as session:
        preview = service.preview_segment(session, body.definition, _now(), body.sample_size)
    return jsonify(
        count=preview.count,
        sample=preview.sample,
        funnel=[vars(step) for step in preview.funnel],
        seconds=round(preview.seconds, 4),
    )


@api_blueprint.get("/segments/<int:segment_id>/members")
@requires_scope("read")
def segment_members(segment_id: int) -> Response:
    """Return one page of a segment's current members."""
    page, per_page = _page_args()
    with transaction(current_runtime().sessions) as session:
        result = service.members_page(session, segment_id, _now(), page, per_page)
    return jsonify(vars(result))


@api_blueprint.get("/segments/<int:segment_id>/export")
@requires_scope("read")
def export_segment(segment_id: int) -> Response:
    """Stream a segment's current members as CSV (sort_by, descending, limit, dedupe_by)."""
    options = _parse(ListOptions, request.args.to_dict())
    session = current_runtime().sessions()
    try:
        chunks = target_lists.iter_segment_csv(
            session,
            segment_id,
            _now(),
            options.sort_by,
            options.descending,
            options.limit,
            options.dedupe_by,
        )
        first = next(chunks)  # errors surface here, before the response starts
    except BaseException:
        session.close()
        raise
    return _csv_response(_closing(session, first, chunks), f"segment-{segment_id}.csv")


def _closing(session: Any, first: str, rest: Iterator[str]) -> Iterator[str]:
    try:
        yield first
        yield from rest
    finally:
        session.close()


@api_blueprint.post("/segments/<int:segment_id>/lists")
@requires_scope("segments")
def snapshot_segment(segment_id: int) -> tuple[Response, int]:
    """Freeze a segment's current members into a target list."""
    body = _parse(SnapshotBody, json_body())
    with transaction(current_runtime().sessions) as session:
        target = target_lists.create_snapshot(
            session,
            segment_id,
            name=body.name,
            now=_now(),
            sort_by=body.sort_by,
            descending=body.descending,
            limit=body.limit,
            dedupe_by=body.dedupe_by,
        )
        return jsonify(_list_json(target)), 201


@api_blueprint.get("/target-lists")
@requires_scope("read")
def list_target_lists() -> Response:
    """List target lists, newest first."""
    with transaction(current_runtime().sessions) as session:
        rows = target_lists.list_target_lists(session)
    return jsonify(target_lists=[vars(row) for row in rows])


@api_blueprint.post("/target-lists")
@requires_scope("segments")
def upload_target_list() -> tuple[Response, int]:
    """Create a static list from CSV text; unmatched lines are reported, not fatal."""
    body = _parse(StaticListBody, json_body())
    with transaction(current_runtime().sessions) as session:
        result = target_lists.create_static_list(
            session, name=body.name, csv_text=body.csv, match_by=body.match_by
        )
        payload = _list_json(result.target_list) | {
            "matched": result.matched,
            "unmatched": [p.as_dict() for p in result.unmatched[:1000]],
            "unmatched_count": len(result.unmatched),
        }
        return jsonify(payload), 201


@api_blueprint.get("/target-lists/<int:list_id>")
@requires_scope("read")
def get_target_list(list_id: int) -> Response:
    """Return one target list."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(_list_json(target_lists.get_target_list(session, list_id)))


@api_blueprint.delete("/target-lists/<int:list_id>")
@requires_scope("segments")
def delete_target_list(list_id: int) -> tuple[str, int]:
    """Delete a target list."""
    with transaction(current_runtime().sessions) as session:
        target_lists.delete_target_list(session, list_id)
    return "", 204


@api_blueprint.get("/target-lists/<int:list_id>/members")
@requires_scope("read")
def target_list_members(list_id: int) -> Response:
    """Return one page of a target list's members, in list order."""
    page, per_page = _page_args()
    with transaction(current_runtime().sessions) as session:
        result = target_lists.get_members_page(session, list_id, page, per_page)
    return jsonify(vars(result))


@api_blueprint.get("/target-lists/<int:list_id>/export")
@requires_scope("read")
def export_target_list(list_id: int) -> Response:
    """Stream a target list as CSV."""
    session = current_runtime().sessions()
    try:
        chunks = target_lists.iter_csv(session, list_id)
        first = next(chunks)
    except BaseException:
        session.close()
        raise
    return _csv_response(_closing(session, first, chunks), f"target-list-{list_id}.csv")
