"""The OpenAPI paths and schemas of the journey endpoints."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from campaign_engine.api.journey_entries import EnrollBody
from campaign_engine.api.journeys import ACTIONS, InstallBody, SimulateBody, ValidateBody
from campaign_engine.api.openapi_segments import REF, operation
from campaign_engine.journeys.service import JourneyBody

BASE = "/api/v1"
MISSING = "no such journey (or library journey)"


def _path(name: str, kind: str = "integer") -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _op(summary: str, scope: str, ok: str, body: str | None = None, *params: str) -> dict[str, Any]:
    parameters = [_path(p, "string" if p == "key" else "integer") for p in params]
    found = operation(summary, scope, ok, body, parameters, missing=MISSING)
    found["responses"]["400"] = {
        "description": "the body is not the expected shape; every problem names its field",
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }
    found["responses"]["422"]["description"] = (
        "the journey has problems: each has node_id, field, message and code"
    )
    return found


def journey_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (paths, component schemas) for /journeys."""
    _, schemas = models_json_schema(
        [
            (JourneyBody, "validation"),
            (ValidateBody, "validation"),
            (SimulateBody, "validation"),
            (InstallBody, "validation"),
            (EnrollBody, "validation"),
        ],
        ref_template=REF,
    )
    one = f"{BASE}/journeys/{{journey_id}}"
    paths: dict[str, Any] = {
        f"{BASE}/journeys": {
            "get": _op("List journeys with status, version and counts", "read", "200"),
            "post": _op("Save a draft journey", "campaigns", "201", "JourneyBody"),
        },
        one: {
            "get": _op(
                "Get a journey: draft, problems, versions", "read", "200", None, "journey_id"
            ),
            "put": _op(
                "Replace a journey's draft", "campaigns", "200", "JourneyBody", "journey_id"
            ),
            "delete": _op(
                "Delete a never-published journey", "campaigns", "204", None, "journey_id"
            ),
        },
        f"{BASE}/journeys/validate": {
            "post": _op("List every problem of a definition", "read", "200", "ValidateBody")
        },
        f"{one}/stats": {
            "get": _op(
                "Counts per step; goal conversion against the holdout",
                "read",
                "200",
                None,
                "journey_id",
            )
        },
        f"{one}/simulate": {
            "post": _op(
                "Simulate over stored contacts; sends nothing",
                "read",
                "200",
                "SimulateBody",
                "journey_id",
            )
        },
        f"{one}/enroll": {
            "post": _op(
                "Enroll contacts through the journey's API entry",
                "campaigns",
                "200",
                "EnrollBody",
                "journey_id",
            )
        },
        f"{BASE}/journeys/library": {"get": _op("List the journey library", "read", "200")},
        f"{BASE}/journeys/library/{{key}}/install": {
            "post": _op(
                "Install a library journey as a draft", "campaigns", "201", "InstallBody", "key"
            )
        },
    }
    for action in ACTIONS:
        paths[f"{one}/{action}"] = {
            "post": _op(f"{action.capitalize()} the journey", "campaigns", "200", None,
                        "journey_id")
        }  # fmt: skip
    return paths, schemas.get("$defs", {})
