"""Campaign endpoints: CRUD, lifecycle, dry run, test send, progress, per-contact explanations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from flask import Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from campaign_engine.api import api_blueprint, json_body, requires_scope
from campaign_engine.campaigns import lifecycle, service, trial
from campaign_engine.campaigns.explain import explain_contact
from campaign_engine.db import transaction
from campaign_engine.dispatch.ledger import run_counts
from campaign_engine.dispatch.runner import describe_progress
from campaign_engine.dispatch.wiring import build_runner, unit_costs
from campaign_engine.errors import InvalidInput
from campaign_engine.ingest.batch import problems_of
from campaign_engine.models import Campaign
from campaign_engine.web import current_runtime

ACTIONS = ("schedule", "unschedule", "launch", "pause", "resume", "cancel")


class TestSendBody(BaseModel):
    """Send every variant's messages to seed addresses, rendered as one contact."""

    model_config = ConfigDict(extra="forbid")

    seeds: Annotated[list[str], Field(min_length=1, max_length=trial.MAX_SEEDS)]
    contact_id: int | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def campaign_json(session: Any, campaign: Campaign) -> dict[str, Any]:
    """Return a campaign's plan, state and progress."""
    return {
        "id": campaign.id,
        "status": campaign.status,
        "next_run_at": campaign.next_run_at,
        "started_at": campaign.started_at,
        "ended_at": campaign.ended_at,
        "winner_variant": campaign.winner_variant,
        "created_at": campaign.created_at,
        "updated_at": campaign.updated_at,
        **service.campaign_spec(session, campaign),
        "progress": describe_progress(session, campaign.id),
    }


@api_blueprint.get("/campaigns")
@requires_scope("read")
def list_campaigns() -> Response:
    """List campaigns, newest first; `?status=` filters."""
    with transaction(current_runtime().sessions) as session:
        rows = service.list_campaigns(session, request.args.get("status"))
    return jsonify(campaigns=[vars(row) for row in rows])


@api_blueprint.post("/campaigns")
@requires_scope("campaigns")
def create_campaign() -> tuple[Response, int]:
    """Save a new draft campaign."""
    with transaction(current_runtime().sessions) as session:
        campaign = service.save_campaign(session, json_body())
        return jsonify(campaign_json(session, campaign)), 201


@api_blueprint.get("/campaigns/<int:campaign_id>")
@requires_scope("read")
def get_campaign(campaign_id: int) -> Response:
    """Return a campaign with its plan and live progress."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(campaign_json(session, service.get_campaign(session, campaign_id)))


@api_blueprint.put("/campaigns/<int:campaign_id>")
@requires_scope("campaigns")
def replace_campaign(campaign_id: int) -> Response:
    """Replace the plan of a campaign that has not started sending."""
    with transaction(current_runtime().sessions) as session:
        campaign = service.save_campaign(session, json_body(), campaign_id=campaign_id)
        return jsonify(campaign_json(session, campaign))


@api_blueprint.delete("/campaigns/<int:campaign_id>")
@requires_scope("campaigns")
def delete_campaign(campaign_id: int) -> tuple[str, int]:
    """Delete a draft."""
    with transaction(current_runtime().sessions) as session:
        service.delete_campaign(session, campaign_id)
    return "", 204


def _transition(campaign_id: int, action: str) -> Response:
    with transaction(current_runtime().sessions) as session:
        now = _now()
        match action:
            case "schedule":
                lifecycle.schedule_campaign(session, campaign_id, now)
            case "unschedule":
                lifecycle.unschedule_campaign(session, campaign_id)
            case "launch":
                lifecycle.send_now(session, campaign_id, now)
            case "pause":
                lifecycle.pause_campaign(session, campaign_id)
            case "resume":
                lifecycle.resume_campaign(session, campaign_id)
            case "cancel":
                lifecycle.cancel_campaign(session, campaign_id, now)
        return jsonify(campaign_json(session, service.get_campaign(session, campaign_id)))


def _action_view(action: str) -> Callable[[int], Response]:
    def view(campaign_id: int) -> Response:
        return _transition(campaign_id, action)

    view.__name__ = f"{action}_campaign"
    view.__doc__ = f"{action.capitalize()} a campaign."
    return view


for _action in ACTIONS:  # one documented route per action: /campaigns/<id>/schedule, ...
    api_blueprint.post(f"/campaigns/<int:campaign_id>/{_action}")(
        requires_scope("campaigns")(_action_view(_action))
    )


@api_blueprint.post("/campaigns/<int:campaign_id>/dry-run")
@requires_scope("read")
def dry_run_campaign(campaign_id: int) -> Response:
    """Report who would get what and how many would be skipped, by reason; sends nothing."""
    runtime = current_runtime()
    with transaction(runtime.sessions) as session:
        report = trial.dry_run(
            session,
            campaign_id,
            _now(),
            runtime.settings.dispatch.rules,
            unit_costs(runtime.settings),
        )
    return jsonify(report)


@api_blueprint.post("/campaigns/<int:campaign_id>/test-send")
@requires_scope("campaigns")
def test_send_campaign(campaign_id: int) -> Response:
    """Send the campaign's messages to seed addresses now, marked [TEST]."""
    try:
        body = TestSendBody.model_validate(json_body())
    except ValidationError as error:
        raise InvalidInput("the request body is invalid", problems_of(error)) from None
    runtime = current_runtime()
    with transaction(runtime.sessions) as session:
        run = trial.create_test_send(session, campaign_id, body.seeds, _now(), body.contact_id)
        run_id = run.id
    build_runner(runtime).advance(run_id)
    with transaction(runtime.sessions) as session:
        return jsonify(run_id=run_id, deliveries=run_counts(session, run_id))


@api_blueprint.get("/campaigns/<int:campaign_id>/progress")
@requires_scope("read")
def campaign_progress(campaign_id: int) -> Response:
    """Return sent, queued, retrying, failed and skipped-by-reason counts."""
    with transaction(current_runtime().sessions) as session:
        service.get_campaign(session, campaign_id)
        return jsonify(describe_progress(session, campaign_id))


@api_blueprint.get("/campaigns/<int:campaign_id>/contacts/<int:contact_id>")
@requires_scope("read")
def explain_campaign_contact(campaign_id: int, contact_id: int) -> Response:
    """Say why a contact was or was not sent the campaign's messages."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(explain_contact(session, campaign_id, contact_id))
