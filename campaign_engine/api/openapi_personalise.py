"""The OpenAPI paths of the storefront endpoints: personalise, clicks, recommendations."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from campaign_engine.api.openapi_segments import REF, operation
from campaign_engine.personalisation_requests import (
    LOOKUP_KINDS,
    MAX_BODY_BYTES,
    MAX_K,
    MAX_LOOKUP_SKUS,
    ClickRequest,
    PersonaliseRequest,
)

BASE = "/api/v1"
SCOPE = "personalise"
MISSING = "not used: unknown products and contacts are 422, naming the field"

PRODUCT = {
    "type": "object",
    "properties": {
        "sku": {"type": "string"},
        "name": {"type": "string"},
        "category": {"type": "string"},
        "price": {"type": "number"},
        "kind": {"enum": ["cross_sell", "up_sell", "category_gap", "popular"]},
        "score": {"type": "number", "description": "lift x margin, or uplift x margin"},
        "reason": {
            "type": "string",
            "examples": [
                "bought Laptop 14in Basic; 45% of orders with Laptop 14in Basic also include"
                " Laptop Bag, 3.2\u00d7 the usual rate"
            ],
        },
        "lift": {"type": ["number", "null"]},
        "confidence": {"type": ["number", "null"]},
        "uplift": {"type": ["number", "null"]},
    },
}
ANSWER_FIELDS: dict[str, Any] = {
    "rule_set": {"type": ["integer", "null"], "description": "the rule-set version used"},
    "mode": {"enum": ["personal", "contextual", "non_personal"]},
    "personalised": {"type": "boolean"},
    "holdout": {"type": "boolean", "description": "in the personalisation holdout"},
    "why": {"type": "string", "description": "why this mode, in a sentence"},
}
ANSWER = {
    "type": "object",
    "properties": {
        "impression_id": {"type": "string", "description": "pass it back with a click"},
        **ANSWER_FIELDS,
        "slots": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "items": {
                        "type": "array",
                        "description": "products (as StorefrontProduct), campaign offers"
                        " (kind campaign_offer: campaign, products, reason) or content"
                        " blocks (kind content: key, category, headline, reason)",
                        "items": {"type": "object"},
                    },
                },
            },
        },
    },
}
LOOKUP = {
    "type": "object",
    "properties": {
        **ANSWER_FIELDS,
        "recommendations": {
            "type": "array",
            "items": {"$ref": REF.format(model="StorefrontProduct")},
        },
    },
}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """Return one query parameter."""
    return {"name": name, "in": "query", "schema": schema, "description": description}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def personalise_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (paths, component schemas) for the storefront endpoints."""
    _, schemas = models_json_schema(
        [(PersonaliseRequest, "validation"), (ClickRequest, "validation")], ref_template=REF
    )
    components = schemas.get("$defs", {}) | {
        "StorefrontProduct": PRODUCT,
        "PersonaliseAnswer": ANSWER,
        "RecommendationsAnswer": LOOKUP,
    }
    error = _json({"$ref": REF.format(model="Error")})
    too_large = {"description": f"the body is over {MAX_BODY_BYTES:,} bytes", **error}

    personalise = operation(
        "Decide what each slot of a page shows a visitor, and why",
        SCOPE,
        "200",
        "PersonaliseRequest",
        missing=MISSING,
    )
    personalise["description"] = (
        "Personal for a consenting contact (history, basket, page, campaign offers first);"
        " contextual (basket and page) for an anonymous visitor; non-personal best sellers"
        " without consent, when `personalisation` is false, and for the holdout. Records an"
        " impression event."
    )
    personalise["responses"]["200"] = {
        "description": "the answer",
        **_json({"$ref": REF.format(model="PersonaliseAnswer")}),
    }
    personalise["responses"]["413"] = too_large

    click = operation(
        "Record a click on an item of an answer", SCOPE, "202", "ClickRequest", missing=MISSING
    )
    click["responses"]["413"] = too_large

    lookup = operation(
        "Recommend products for some products or a contact",
        SCOPE,
        "200",
        None,
        [
            query(
                "sku",
                {"type": "array", "items": {"type": "string"}, "maxItems": MAX_LOOKUP_SKUS},
                "products (repeat, or comma-separated)",
            ),
            query("contact_id", {"type": "string"}, "a contact's external id"),
            query("kind", {"enum": list(LOOKUP_KINDS), "default": "all"}, "what to recommend"),
            query(
                "k", {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5}, "how many"
            ),
        ],
        missing=MISSING,
    )
    lookup["responses"]["200"] = {
        "description": "the recommendations",
        **_json({"$ref": REF.format(model="RecommendationsAnswer")}),
    }
    lookup["responses"]["400"] = {"description": "a query value is invalid", **error}
    paths = {
        f"{BASE}/personalise": {"post": personalise},
        f"{BASE}/personalise/clicks": {"post": click},
        f"{BASE}/recommendations": {"get": lookup},
    }
    return paths, components
