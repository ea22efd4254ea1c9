"""The OpenAPI document for /api/v1, generated from the pydantic models of its bodies."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import Response, jsonify
from pydantic.json_schema import models_json_schema

from campaign_engine import __version__
from campaign_engine.api import api_blueprint, requires_scope
from campaign_engine.api.openapi_campaigns import campaign_openapi
from campaign_engine.api.openapi_journeys import journey_openapi
from campaign_engine.api.openapi_personalise import personalise_openapi
from campaign_engine.api.openapi_reports import report_openapi
from campaign_engine.api.openapi_segments import segment_openapi
from campaign_engine.api.openapi_uplift import uplift_openapi
from campaign_engine.ingest.records import RECORD_TYPES
from campaign_engine.web import current_runtime

REF = "#/components/schemas/{model}"
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "problems": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "location": {"type": "string", "examples": ["records[3].email"]},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
RESULT_SCHEMA = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in ("created", "updated", "unchanged")},
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }


@cache
def openapi_document(max_batch: int) -> dict[str, Any]:
    """Build the OpenAPI 3.1 document; record schemas come straight from the pydantic models."""
    _, schemas = models_json_schema(
        [(m, "validation") for m in RECORD_TYPES.values()], ref_template=REF
    )
    components = schemas.get("$defs", {}) | {"Error": ERROR_SCHEMA, "BatchResult": RESULT_SCHEMA}
    paths = {}
    for kind, model in RECORD_TYPES.items():
        body = {
            "type": "object",
            "additionalProperties": False,
            "required": ["records"],
            "properties": {
                "records": {
                    "type": "array",
                    "maxItems": max_batch,
                    "items": {"$ref": REF.format(model=model.__name__)},
                }
            },
        }
        paths[f"/api/v1/{kind}"] = {
            "post": {
                "summary": f"Ingest a batch of {kind}",
                "description": (model.__doc__ or "").strip()
                + " The batch is written whole or not at all.",
                "operationId": f"ingest_{kind}",
                "security": [{"apiKey": ["ingest"]}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {
                    "200": {
                        "description": "written",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": REF.format(model="BatchResult")}
                            }
                        },
                    },
                    "401": _error("missing or unknown API key"),
                    "403": _error("the key lacks the ingest scope"),
                    "413": _error("too many records in one batch"),
                    "422": _error(
                        "invalid records; every problem is listed with its record and field"
                    ),
                },
            }
        }
    for more_paths, schemas in (
        segment_openapi(),
        campaign_openapi(),
        report_openapi(),
        journey_openapi(),
        personalise_openapi(),
        uplift_openapi(),
    ):
        paths |= more_paths
        components |= schemas
    return {
        "openapi": "3.1.0",
        "info": {"title": "Campaign Engine API", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "API key"}
            },
        },
    }


@api_blueprint.get("/openapi.json")
@requires_scope(None)
def openapi() -> Response:
    """Serve the OpenAPI document (any valid API key may read it)."""
    return jsonify(openapi_document(current_runtime().settings.api_max_batch))
