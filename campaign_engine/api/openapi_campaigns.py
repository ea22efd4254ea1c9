"""The OpenAPI paths and schemas of the campaign and message-template endpoints."""

from __future__ import annotations

from typing import Any

from pydantic.json_schema import models_json_schema

from campaign_engine.api.campaigns import ACTIONS, TestSendBody
from campaign_engine.api.openapi_segments import REF, operation
from campaign_engine.campaigns.spec import CampaignSpec
from campaign_engine.message_templates import TemplateBody

BASE = "/api/v1"


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _op(summary: str, scope: str, ok: str, body: str | None = None, *params: str) -> dict[str, Any]:
    return operation(
        summary, scope, ok, body, [_id(p) for p in params], missing="no such campaign or template"
    )


def campaign_openapi() -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (paths, component schemas) for /campaigns and /templates."""
    _, schemas = models_json_schema(
        [
            (CampaignSpec, "validation"),
            (TestSendBody, "validation"),
            (TemplateBody, "validation"),
        ],
        ref_template=REF,
    )
    one = f"{BASE}/campaigns/{{campaign_id}}"
    paths: dict[str, Any] = {
        f"{BASE}/campaigns": {
            "get": _op("List campaigns (?status=)", "read", "200"),
            "post": _op("Save a draft campaign", "campaigns", "201", "CampaignSpec"),
        },
        one: {
            "get": _op("Get a campaign with its progress", "read", "200", None, "campaign_id"),
            "put": _op(
                "Replace a campaign's plan", "campaigns", "200", "CampaignSpec", "campaign_id"
            ),
            "delete": _op("Delete a draft", "campaigns", "204", None, "campaign_id"),
        },
        f"{one}/dry-run": {
            "post": _op("Who would get what; skips by reason", "read", "200", None, "campaign_id")
        },
        f"{one}/test-send": {
            "post": _op("Send to seed addresses", "campaigns", "200", "TestSendBody", "campaign_id")
        },
        f"{one}/progress": {
            "get": _op(
                "Sent, queued, retrying, failed, skipped", "read", "200", None, "campaign_id"
            )
        },
        f"{one}/contacts/{{contact_id}}": {
            "get": _op(
                "Why a contact was or was not sent",
                "read",
                "200",
                None,
                "campaign_id",
                "contact_id",
            )
        },
        f"{BASE}/templates": {
            "get": _op("List templates (?channel=)", "read", "200"),
            "post": _op("Validate and save a template", "campaigns", "201", "TemplateBody"),
        },
        f"{BASE}/templates/{{template_id}}": {
            "get": _op("Get a template", "read", "200", None, "template_id"),
            "put": _op(
                "Validate and replace a template", "campaigns", "200", "TemplateBody", "template_id"
            ),
            "delete": _op("Delete an unused template", "campaigns", "204", None, "template_id"),
        },
        f"{BASE}/templates/preview": {
            "post": _op(
                "Render as a contact (contact_id) or the sample", "read", "200", "TemplateBody"
            )
        },
        f"{BASE}/templates/starters": {
            "get": _op("List starter templates", "read", "200"),
            "post": _op("Install the starter templates", "campaigns", "200"),
        },
    }
    for action in ACTIONS:
        paths[f"{one}/{action}"] = {
            "post": _op(
                f"{action.capitalize()} the campaign", "campaigns", "200", None, "campaign_id"
            )
        }
    return paths, schemas.get("$defs", {})
