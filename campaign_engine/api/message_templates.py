"""Message-template endpoints: CRUD with validation, preview as a contact, starter templates."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request

from campaign_engine import message_templates as service
from campaign_engine.api import api_blueprint, json_body, requires_scope
from campaign_engine.db import transaction
from campaign_engine.errors import InvalidInput, Problem
from campaign_engine.web import current_runtime
from templates import starter_templates


@api_blueprint.get("/templates")
@requires_scope("read")
def list_templates() -> Response:
    """List templates; `?channel=` filters."""
    with transaction(current_runtime().sessions) as session:
        found = service.list_templates(session, request.args.get("channel"))
        return jsonify(templates=[service.template_json(t) for t in found])


@api_blueprint.post("/templates")
@requires_scope("campaigns")
def create_template() -> tuple[Response, int]:
    """Validate and save a template; every problem comes back with its part and line."""
    with transaction(current_runtime().sessions) as session:
        template = service.save_template(session, json_body())
        return jsonify(service.template_json(template)), 201


@api_blueprint.get("/templates/<int:template_id>")
@requires_scope("read")
def get_template(template_id: int) -> Response:
    """Return a template."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(service.template_json(service.get_template(session, template_id)))


@api_blueprint.put("/templates/<int:template_id>")
@requires_scope("campaigns")
def replace_template(template_id: int) -> Response:
    """Validate and replace a template."""
    with transaction(current_runtime().sessions) as session:
        template = service.save_template(session, json_body(), template_id=template_id)
        return jsonify(service.template_json(template))


@api_blueprint.delete("/templates/<int:template_id>")
@requires_scope("campaigns")
def delete_template(template_id: int) -> tuple[str, int]:
    """Delete a template that nothing uses."""
    with transaction(current_runtime().sessions) as session:
        service.delete_template(session, template_id)
    return "", 204


@api_blueprint.post("/templates/preview")
@requires_scope("read")
def preview_template() -> Response:
    """Render a template (saved or not) as a contact (`contact_id`) or the sample contact."""
    body: dict[str, Any] = dict(json_body() or {})
    contact_id = body.pop("contact_id", None)
    if contact_id is not None and not isinstance(contact_id, int):
        raise InvalidInput("the request body is invalid", [Problem("contact_id", "give an id")])
    runtime = current_runtime()
    with transaction(runtime.sessions) as session:
        preview = service.preview_template(
            session, body, contact_id, runtime.settings.dispatch, runtime.settings.secret_key
        )
    message = preview.message
    return jsonify(
        contact_id=preview.contact_id,
        subject=message.subject,
        html=message.html,
        text=message.text,
        headers=message.headers,
    )


@api_blueprint.get("/templates/starters")
@requires_scope("read")
def list_starter_templates() -> Response:
    """List the shipped starter templates."""
    return jsonify(
        starters=[
            {
                "name": s.name,
                "title": s.title,
                "description": s.description,
                "channel": s.channel,
                "campaign_type": s.campaign_type,
            }
            for s in starter_templates().values()
        ]
    )


@api_blueprint.post("/templates/starters")
@requires_scope("campaigns")
def install_starter_templates() -> Response:
    """Store the starter templates and their layout that are not stored yet."""
    with transaction(current_runtime().sessions) as session:
        added = service.install_starters(session)
        return jsonify(installed=[t.name for t in added])
