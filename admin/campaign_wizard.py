"""The campaign wizard: plan a campaign step by step and save it as a draft."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template, url_for
from flask.typing import ResponseReturnValue

from admin.json_replies import json_error, json_object
from admin.pages import MAX_ID
from admin.sections import ADMIN, MARKETER
from admin.security import current_user, role_required
from campaign_engine.app import current_runtime
from campaign_engine.campaigns.admin_views import wizard_data
from campaign_engine.campaigns.service import save_campaign
from campaign_engine.db import transaction
from campaign_engine.errors import DomainError

EDITORS = (ADMIN, MARKETER)
STEPS = (
    ("definition", "Definition"),
    ("planning", "Planning"),
    ("audience", "Audience"),
    ("content", "Content"),
    ("schedule", "Schedule"),
    ("review", "Review"),
    ("launch", "Launch"),
)


@role_required(*EDITORS)
def new_campaign() -> ResponseReturnValue:
    """Open the wizard on an empty campaign."""
    with transaction(current_runtime().sessions) as session:
        data = wizard_data(session, None)
    return render_template("campaign_wizard.html", data=data, steps=STEPS)


@role_required(*EDITORS)
def edit_campaign(campaign_id: int) -> ResponseReturnValue:
    """Open the wizard on a saved campaign that may still be edited."""
    with transaction(current_runtime().sessions) as session:
        data = wizard_data(session, campaign_id)
    return render_template("campaign_wizard.html", data=data, steps=STEPS)


@role_required(*EDITORS)
def save_new_draft() -> ResponseReturnValue:
    """Save the wizard's plan as a new draft; answer its id or every problem (422)."""
    return _save(None)


@role_required(*EDITORS)
def save_draft(campaign_id: int) -> ResponseReturnValue:
    """Replace a draft's plan with the wizard's; a refused save leaves the stored plan."""
    return _save(campaign_id)


def _save(campaign_id: int | None) -> ResponseReturnValue:
    user = current_user()
    try:
        spec = json_object().get("spec")
        with transaction(current_runtime().sessions) as session:
            saved = save_campaign(
                session,
                spec,
                campaign_id=campaign_id,
                created_by=user.email if user else None,
            )
            saved_id, status = saved.id, saved.status
    except DomainError as error:
        return json_error(error)
    return jsonify(
        id=saved_id,
        status=status,
        edit_url=url_for("admin.edit_campaign", campaign_id=saved_id),
        page_url=url_for("admin.campaign", campaign_id=saved_id),
        dry_run_url=url_for("admin.campaign_dry_run", campaign_id=saved_id),
        launch_url=url_for("admin.campaign_launch", campaign_id=saved_id),
        schedule_url=url_for("admin.campaign_schedule", campaign_id=saved_id),
    )


def register(blueprint: Blueprint) -> None:
    """Add the wizard pages and its draft-saving endpoints to `blueprint`."""
    one = f"/campaigns/<int(max={MAX_ID}):campaign_id>"
    blueprint.add_url_rule("/campaigns/new", "new_campaign", new_campaign)
    blueprint.add_url_rule(f"{one}/edit", "edit_campaign", edit_campaign)
    blueprint.add_url_rule(
        "/campaigns/draft", "save_new_campaign_draft", save_new_draft, methods=["POST"]
    )
    blueprint.add_url_rule(f"{one}/draft", "save_campaign_draft", save_draft, methods=["POST"])
