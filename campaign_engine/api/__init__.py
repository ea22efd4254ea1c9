"""JSON API under /api/v1: one blueprint, one module per resource."""

from __future__ import annotations

from flask import Blueprint

api_blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

from campaign_engine.api import ingest, openapi  # noqa: E402,F401  (registers routes)
