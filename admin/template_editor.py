"""Message-template pages: the list, the editor with its live preview, the starter templates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from admin.json_replies import json_error, json_object, optional_id
from admin.pages import MAX_ID
from admin.sections import roles_for
from admin.security import current_user, role_required
from campaign_engine.app import current_runtime
from campaign_engine.campaigns.admin_views import (
    preview_saved_template,
    template_form,
    template_rows,
)
from campaign_engine.db import transaction
from campaign_engine.errors import Conflict, DomainError, InvalidInput
from campaign_engine.message_templates import (
    delete_template,
    install_starters,
    preview_template,
    save_template,
)

EDITORS = roles_for("templates")
TEXT_FIELDS = ("name", "kind", "channel", "purpose", "description")
BODY_FIELDS = ("subject", "html", "text")  # blank means "this template has no such part"
EMPTY: dict[str, Any] = {
    "id": None,
    "name": "",
    "kind": "message",
    "channel": "email",
    "purpose": "marketing",
    "description": "",
    "subject": "",
    "html": "",
    "text": "",
}
SAVE_ERRORS = (InvalidInput, Conflict)


@role_required(*EDITORS)
def templates() -> ResponseReturnValue:
    """List the stored templates, layouts and partials."""
    with transaction(current_runtime().sessions) as session:
        rows = template_rows(session)
    return render_template("message_templates.html", templates=rows)


@role_required(*EDITORS)
def new_template() -> ResponseReturnValue:
    """Open the editor on an empty template."""
    return _editor(EMPTY | {"channel": request.args.get("channel", "email")})


@role_required(*EDITORS)
def save_new_template() -> ResponseReturnValue:
    """Create a template from the editor; on problems show them by part and line."""
    return _save(None)


@role_required(*EDITORS)
def template(template_id: int) -> ResponseReturnValue:
    """Open the editor on a saved template."""
    with transaction(current_runtime().sessions) as session:
        fields = template_form(session, template_id)
    return _editor(fields)


@role_required(*EDITORS)
def save_existing_template(template_id: int) -> ResponseReturnValue:
    """Save the editor's changes; a refused save leaves the stored template as it was."""
    return _save(template_id)


@role_required(*EDITORS)
def remove_template(template_id: int) -> ResponseReturnValue:
    """Delete a template no campaign uses."""
    with transaction(current_runtime().sessions) as session:
        delete_template(session, template_id)
    flash("Template deleted.")
    return redirect(url_for("admin.templates"), 303)


@role_required(*EDITORS)
def starters() -> ResponseReturnValue:
    """Store the shipped starter templates, layouts and partials that are missing."""
    with transaction(current_runtime().sessions) as session:
        names = [t.name for t in install_starters(session)]
    flash(
        f"Installed {len(names)} starter templates: {', '.join(names)}."
        if names
        else "The starter templates are already installed."
    )
    return redirect(url_for("admin.templates"), 303)


@role_required(*EDITORS)
def preview() -> ResponseReturnValue:
    """Render the editor's (unsaved) fields as a contact id or the sample contact."""
    runtime = current_runtime()
    try:
        body = json_object()
        contact_id = optional_id(body.pop("contact_id", None), "contact_id")
        # Only the parts render; the name is checked on save, not while typing.
        fields = _template_fields(body) | {"name": "preview"}
        with transaction(runtime.sessions) as session:
            shown = preview_template(
                session, fields, contact_id, runtime.settings.dispatch, runtime.settings.secret_key
            )
    except DomainError as error:
        return json_error(error)
    message = shown.message
    return jsonify(
        contact_id=shown.contact_id, subject=message.subject, html=message.html, text=message.text
    )


@role_required(*EDITORS)
def preview_saved(template_id: int) -> ResponseReturnValue:
    """Render a saved template as a contact id or the sample contact (for the wizard)."""
    runtime = current_runtime()
    try:
        contact_id = optional_id(json_object().get("contact_id"), "contact_id")
        with transaction(runtime.sessions) as session:
            shown = preview_saved_template(
                session,
                template_id,
                contact_id,
                runtime.settings.dispatch,
                runtime.settings.secret_key,
            )
    except DomainError as error:
        return json_error(error)
    return jsonify(shown)


def _save(template_id: int | None) -> ResponseReturnValue:
    fields = _template_fields(request.form)
    user = current_user()
    try:
        with transaction(current_runtime().sessions) as session:
            saved = save_template(
                session,
                fields,
                template_id=template_id,
                created_by=user.email if user else None,
            )
            saved_id, name = saved.id, saved.name
    except SAVE_ERRORS as error:
        shown = {key: fields.get(key) or "" for key in EMPTY} | {"id": template_id}
        return _editor(shown, error)
    flash(f"Template “{name}” saved.")
    return redirect(url_for("admin.template", template_id=saved_id), 303)


def _template_fields(source: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {key: str(source.get(key) or "").strip() for key in TEXT_FIELDS}
    for key in BODY_FIELDS:
        fields[key] = str(source.get(key) or "") or None
    return fields


def _editor(fields: dict[str, Any], error: DomainError | None = None) -> ResponseReturnValue:
    problems = [] if error is None else error.problems
    page = render_template(
        "message_template_edit.html",
        template=fields,
        error=error,
        problems=problems,
        initial={"templateId": fields["id"]},
    )
    return page, 200 if error is None else error.status


def register(blueprint: Blueprint) -> None:
    """Add the template list, editor, preview and starter routes to `blueprint`."""
    one = f"/templates/<int(max={MAX_ID}):template_id>"
    blueprint.add_url_rule("/templates", "templates", templates)
    blueprint.add_url_rule("/templates/new", "new_template", new_template, methods=["GET"])
    blueprint.add_url_rule(
        "/templates/new", "save_new_template", save_new_template, methods=["POST"]
    )
    blueprint.add_url_rule("/templates/starters", "install_starters", starters, methods=["POST"])
    blueprint.add_url_rule("/templates/preview", "template_preview", preview, methods=["POST"])
    blueprint.add_url_rule(one, "template", template, methods=["GET"])
    blueprint.add_url_rule(one, "save_template", save_existing_template, methods=["POST"])
    blueprint.add_url_rule(f"{one}/delete", "delete_template", remove_template, methods=["POST"])
    blueprint.add_url_rule(
        f"{one}/preview", "saved_template_preview", preview_saved, methods=["POST"]
    )
