"""Ingest endpoints: POST contacts, products, orders, events or consents in batches."""

from __future__ import annotations

from flask import Response, jsonify

from campaign_engine.api import api_blueprint, json_body, requires_scope
from campaign_engine.db import transaction
from campaign_engine.errors import NotFound
from campaign_engine.ingest.batch import ingest_batch
from campaign_engine.ingest.records import Kind
from campaign_engine.web import current_runtime


@api_blueprint.post("/<kind>")
@requires_scope("ingest")
def ingest(kind: str) -> tuple[Response, int]:
    """Write a batch of up to CE_API_MAX_BATCH records, all or nothing."""
    if kind not in Kind.__members__:
        raise NotFound(f"no ingest endpoint for {kind!r}; use one of {', '.join(Kind)}")
    runtime = current_runtime()
    body = json_body()
    with transaction(runtime.sessions) as session:
        result = ingest_batch(session, Kind(kind), body, runtime.settings.api_max_batch)
    return jsonify(created=result.created, updated=result.updated, unchanged=result.unchanged), 200
