"""The OpenAPI paths of the report endpoints: campaign report, comparison, channels, programme."""

from __future__ import annotations

from typing import Any

from campaign_engine.api.openapi_segments import REF, operation
from campaign_engine.models import ATTRIBUTION_MODELS
from campaign_engine.models.campaigns import STATUSES, TYPES
from campaign_engine.models.contacts import CHANNELS
from campaign_engine.reporting.options import DEFAULT_DAYS, SORTABLE

BASE = "/api/v1"
SCOPE = "read"
CSV = "text/csv"
CAMPAIGN_ID = {"name": "campaign_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description}


MODEL = _query(
    "model",
    {"enum": list(ATTRIBUTION_MODELS), "default": "last_touch"},
    "the attribution model orders are credited by",
)
MACHINE = _query(
    "include_machine",
    {"type": "boolean", "default": False},
    "count machine opens and clicks too (as event totals)",
)
MOMENT = {"type": "string", "examples": ["2026-06-01", "2026-06-01T09:00:00Z"]}
SINCE = _query("since", MOMENT, "start of the period (UTC; a date means its midnight)")
UNTIL = _query("until", MOMENT, "end of the period, excluded (a bare date includes that day)")
PERIOD_NOTE = f" Without since and until: the last {DEFAULT_DAYS} days up to today."


def _op(
    summary: str, parameters: list[dict[str, Any]], produces: str = "application/json"
) -> dict[str, Any]:
    op = operation(
        summary, SCOPE, "200", None, parameters, produces=produces, missing="no such campaign"
    )
    op["responses"]["400"] = {
        "description": "a query value is invalid; each problem names its parameter",
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }
    return op


def report_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (paths, component schemas) for the report endpoints."""
    one = f"{BASE}/campaigns/{{campaign_id}}/report"
    comparison = [
        _query("status", {"enum": list(STATUSES)}, "only campaigns in this status"),
        _query("type", {"enum": list(TYPES)}, "only campaigns of this type"),
        _query("channel", {"enum": list(CHANNELS)}, "only campaigns on this channel"),
        SINCE,
        UNTIL,
        MODEL,
        MACHINE,
        _query("sort", {"enum": list(SORTABLE)}, "sort by this column (blanks last)"),
        _query("order", {"enum": ["asc", "desc"], "default": "desc"}, "sort order"),
    ]
    paths: dict[str, Any] = {
        one: {
            "get": _op(
                "A campaign's metrics, breakdowns, attributed and incremental ROI and days",
                [CAMPAIGN_ID, MODEL, MACHINE],
            )
        },
        f"{one}.csv": {
            "get": _op(
                "Every metrics row (totals, breakdowns) and the ROI row as CSV",
                [CAMPAIGN_ID, MODEL, MACHINE],
                CSV,
            )
        },
        f"{one}/daily": {
            "get": _op(
                "A campaign's gap-free daily series", [CAMPAIGN_ID, SINCE, UNTIL, MODEL, MACHINE]
            )
        },
        f"{BASE}/reports/campaigns": {
            "get": _op("Campaigns side by side (first send within since/until)", comparison)
        },
        f"{BASE}/reports/campaigns.csv": {
            "get": _op("Campaigns side by side as CSV", comparison, CSV)
        },
        f"{BASE}/reports/channels": {
            "get": _op(
                "A metrics row per channel over the period." + PERIOD_NOTE,
                [SINCE, UNTIL, MODEL, MACHINE],
            )
        },
        f"{BASE}/reports/channels.csv": {
            "get": _op(
                "Channel performance as CSV." + PERIOD_NOTE, [SINCE, UNTIL, MODEL, MACHINE], CSV
            )
        },
        f"{BASE}/reports/programme": {
            "get": _op(
                "Everyone else against the global holdout over the period (409 when it is off)."
                + PERIOD_NOTE,
                [SINCE, UNTIL],
            )
        },
    }
    paths[f"{BASE}/reports/programme"]["get"]["responses"]["409"] = {
        "description": "the global holdout is off",
        "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
    }
    return paths, {}
