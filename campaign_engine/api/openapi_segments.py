"""The OpenAPI paths and schemas of the segment and target-list endpoints."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from campaign_engine.api.segments import (
    PreviewBody,
    SegmentBody,
    SnapshotBody,
    StaticListBody,
)
from campaign_engine.segments.definition import SegmentDefinition

REF = "#/components/schemas/{model}"
JSON = "application/json"
SEGMENT_ID = {"name": "segment_id", "in": "path", "required": True, "schema": {"type": "integer"}}
LIST_ID = {"name": "list_id", "in": "path", "required": True, "schema": {"type": "integer"}}
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
    },
]
LIST_OPTIONS = [
    {"name": name, "in": "query", "schema": schema}
    for name, schema in (
        ("sort_by", {"type": "string", "examples": ["clv"]}),
        ("descending", {"type": "boolean", "default": True}),
        ("limit", {"type": "integer", "minimum": 1}),
        ("dedupe_by", {"enum": ["email", "phone"]}),
    )
]


def operation(
    summary: str,
    scope: str,
    ok: str,
    body: str | None = None,
    parameters: list[dict[str, Any]] | None = None,
    produces: str = JSON,
    missing: str = "no such segment or list",
) -> dict[str, Any]:
    """Return one OpenAPI operation with the error responses every endpoint shares."""
    error = {"content": {JSON: {"schema": {"$ref": REF.format(model="Error")}}}}
    operation: dict[str, Any] = {
        "summary": summary,
        "security": [{"apiKey": [scope]}],
        "parameters": parameters or [],
        "responses": {
            ok: {"description": "done", "content": {produces: {"schema": {}}}},
            "401": {"description": "missing or unknown API key", **error},
            "403": {"description": f"the key lacks the {scope} scope", **error},
            "404": {"description": missing, **error},
            "422": {"description": "invalid input; every problem has its location", **error},
        },
    }
    if body:
        operation["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": {"$ref": REF.format(model=body)}}},
        }
    return operation


def segment_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (paths, component schemas) for /segments and /target-lists."""
    _, schemas = models_json_schema(
        [
            (SegmentDefinition, "validation"),
            (SegmentBody, "validation"),
            (PreviewBody, "validation"),
            (SnapshotBody, "validation"),
            (StaticListBody, "validation"),
        ],
        ref_template=REF,
    )
    base = "/api/v1"
    paths = {
        f"{base}/segments": {
            "get": operation("List saved segments", "read", "200"),
            "post": operation("Save a segment", "segments", "201", "SegmentBody"),
        },
        f"{base}/segments/{{segment_id}}": {
            "get": operation("Get a segment", "read", "200", parameters=[SEGMENT_ID]),
            "put": operation("Replace a segment", "segments", "200", "SegmentBody", [SEGMENT_ID]),
            "delete": operation("Delete a segment", "segments", "204", parameters=[SEGMENT_ID]),
        },
        f"{base}/segments/preview": {
            "post": operation("Count, sample and funnel", "read", "200", "PreviewBody"),
        },
        f"{base}/segments/{{segment_id}}/members": {
            "get": operation(
                "A page of current members", "read", "200", parameters=[SEGMENT_ID, *PAGING]
            ),
        },
        f"{base}/segments/{{segment_id}}/export": {
            "get": operation(
                "Current members as CSV",
                "read",
                "200",
                parameters=[SEGMENT_ID, *LIST_OPTIONS],
                produces="text/csv",
            ),
        },
        f"{base}/segments/{{segment_id}}/lists": {
            "post": operation(
                "Freeze members into a target list",
                "segments",
                "201",
                "SnapshotBody",
                [SEGMENT_ID],
            ),
        },
        f"{base}/target-lists": {
            "get": operation("List target lists", "read", "200"),
            "post": operation("Upload a static list", "segments", "201", "StaticListBody"),
        },
        f"{base}/target-lists/{{list_id}}": {
            "get": operation("Get a target list", "read", "200", parameters=[LIST_ID]),
            "delete": operation("Delete a target list", "segments", "204", parameters=[LIST_ID]),
        },
        f"{base}/target-lists/{{list_id}}/members": {
            "get": operation(
                "A page of members in list order", "read", "200", parameters=[LIST_ID, *PAGING]
            ),
        },
        f"{base}/target-lists/{{list_id}}/export": {
            "get": operation(
                "Members as CSV", "read", "200", parameters=[LIST_ID], produces="text/csv"
            ),
        },
    }
    return paths, schemas.get("$defs", {})
