"""The OpenAPI paths and schemas of the uplift model endpoints."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from campaign_engine.api.openapi_segments import REF, operation
from campaign_engine.uplift_models.registry import ModelSpec

BASE = "/api/v1/uplift/models"
MISSING = "no such model, version or score"


def _path(name: str, kind: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": kind}}


def _op(summary: str, scope: str, ok: str, body: str | None = None, *params: str) -> dict[str, Any]:
    kinds = {"model_ref": "string", "number": "integer", "contact_id": "integer"}
    found = operation(
        summary, scope, ok, body, [_path(p, kinds[p]) for p in params], missing=MISSING
    )
    if scope == "campaigns" and body is None:
        found["responses"]["409"] = {"description": "not possible in the model's current state"}
    return found


def uplift_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (paths, component schemas) for /uplift/models."""
    _, schemas = models_json_schema([(ModelSpec, "validation")], ref_template=REF)
    one = f"{BASE}/{{model_ref}}"
    paths: dict[str, Any] = {
        BASE: {
            "get": _op("List uplift models, promoted versions, last scoring runs", "read", "200"),
            "post": _op(
                "Define an uplift model (or replace its definition)",
                "campaigns",
                "201",
                "ModelSpec",
            ),
        },
        one: {
            "get": _op(
                "Get a model (id or name) and its versions", "read", "200", None, "model_ref"
            )
        },
        f"{one}/versions/{{number}}": {
            "get": _op(
                "Get a version with its held-out metrics",
                "read",
                "200",
                None,
                "model_ref",
                "number",
            ),
        },
        f"{one}/versions/{{number}}/promote": {
            "post": _op("Promote a version", "campaigns", "200", None, "model_ref", "number"),
        },
        f"{one}/rollback": {
            "post": _op(
                "Promote the previously promoted version again",
                "campaigns",
                "200",
                None,
                "model_ref",
            ),
        },
        f"{one}/train": {
            "post": _op(
                "Ask the scheduler to train a new version", "campaigns", "202", None, "model_ref"
            ),
        },
        f"{one}/scores/{{contact_id}}": {
            "get": _op(
                "Get a contact's current uplift score and percentile",
                "read",
                "200",
                None,
                "model_ref",
                "contact_id",
            ),
        },
    }
    return paths, schemas.get("$defs", {})
