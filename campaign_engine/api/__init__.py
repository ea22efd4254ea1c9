"""JSON API under /api/v1: one blueprint; every endpoint declares the API-key scope it needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, request

from campaign_engine.accounts import authenticate_api_key
from campaign_engine.db import transaction
from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.web import current_runtime

F = TypeVar("F", bound=Callable[..., Any])

api_blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

# Endpoint → scope. An endpoint missing here is refused, so a new one cannot go out open.
SCOPES: dict[str, str | None] = {}


def requires_scope(scope: str | None) -> Callable[[F], F]:
    """Declare the scope a view needs (None: any valid key)."""

    def register(view: F) -> F:
        SCOPES[f"api.{view.__name__}"] = scope
        return view

    return register


def bearer_token() -> str | None:
    """Return the token of an `Authorization: Bearer` header, if any."""
    header = request.headers.get("Authorization", "")
    kind, _, token = header.partition(" ")
    return token.strip() if kind.lower() == "bearer" else None


def json_body() -> Any:
    """Return the parsed JSON body or raise InvalidInput saying why it is unusable."""
    if not request.is_json:
        raise InvalidInput("send a JSON body with Content-Type: application/json")
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidInput("the body is not valid JSON", [Problem("body", "malformed JSON")])
    return body


@api_blueprint.before_request
def _authenticate() -> None:
    endpoint = request.endpoint or ""
    if endpoint not in SCOPES:
        return  # unknown URL: let routing answer 404/405
    with transaction(current_runtime().sessions) as session:
        authenticate_api_key(session, bearer_token(), SCOPES[endpoint])


from campaign_engine.api import (  # noqa: E402,F401  (registers routes)
    campaigns,
    ingest,
    journey_entries,
    journeys,
    message_templates,
    openapi,
    personalise,
    reports,
    segments,
    uplift,
)
