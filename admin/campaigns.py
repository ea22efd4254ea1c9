"""Campaign list and campaign page: plan, lifecycle actions, test sends, live progress, "why?"."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from admin.json_replies import json_error, optional_id
from admin.pages import MAX_ID
from admin.sections import ADMIN, MARKETER, roles_for
from admin.security import current_user, role_required
from campaign_engine.app import current_runtime
from campaign_engine.campaigns import lifecycle
from campaign_engine.campaigns.admin_views import campaign_page, dry_run_report, progress_of
from campaign_engine.campaigns.explain import explain_contact
from campaign_engine.campaigns.service import EDITABLE, delete_campaign, list_campaigns
from campaign_engine.campaigns.trial import create_test_send
from campaign_engine.db import transaction
from campaign_engine.dispatch.ledger import run_counts
from campaign_engine.dispatch.wiring import build_runner, unit_costs
from campaign_engine.errors import Conflict, DomainError, InvalidInput, Problem
from campaign_engine.models.campaigns import STATUSES

VIEWERS = roles_for("campaigns")
EDITORS = (ADMIN, MARKETER)
# Refusals a marketer can act on come back as a message on the campaign page.
REFUSALS = (Conflict, InvalidInput)
SEEDS_SPLIT = re.compile(r"[\s,;]+")

Action = Callable[[Session, int, datetime], Any]
ACTIONS: dict[str, tuple[Action, str]] = {
    "launch": (lifecycle.send_now, "Campaign launched: sending has started."),
    "schedule": (lifecycle.schedule_campaign, "Campaign scheduled."),
    "unschedule": (
        lambda s, c, _now: lifecycle.unschedule_campaign(s, c),
        "Campaign unscheduled: it is a draft again.",
    ),
    "pause": (lambda s, c, _now: lifecycle.pause_campaign(s, c), "Campaign paused."),
    "resume": (lambda s, c, _now: lifecycle.resume_campaign(s, c), "Campaign resumed."),
    "cancel": (lifecycle.cancel_campaign, "Campaign cancelled: nothing more will be sent."),
}


@role_required(*VIEWERS)
def campaigns() -> ResponseReturnValue:
    """List campaigns, newest first, optionally in one status."""
    status = request.args.get("status") or None
    with transaction(current_runtime().sessions) as session:
        rows = list_campaigns(session, status)
    return render_template(
        "campaigns.html",
        campaigns=rows,
        status=status,
        statuses=STATUSES,
        editable_statuses=EDITABLE,
        can_edit=_can_edit(),
    )


@role_required(*VIEWERS)
def campaign(campaign_id: int) -> ResponseReturnValue:
    """Show a campaign: its plan, the actions its status allows, live progress and "why?"."""
    with transaction(current_runtime().sessions) as session:
        page = campaign_page(session, campaign_id)
    return render_template("campaign.html", campaign=page, can_edit=_can_edit())


def change_state(action: str, campaign_id: int) -> ResponseReturnValue:
    """Apply a lifecycle action (launch, schedule, pause, ...) posted from a form."""
    apply, done = ACTIONS[action]
    try:
        with transaction(current_runtime().sessions) as session:
            apply(session, campaign_id, datetime.now(UTC))
    except REFUSALS as error:
        _flash_refusal(error)
    else:
        flash(done, "done")
    return redirect(url_for("admin.campaign", campaign_id=campaign_id), 303)


@role_required(*EDITORS)
def remove_campaign(campaign_id: int) -> ResponseReturnValue:
    """Delete a draft campaign."""
    try:
        with transaction(current_runtime().sessions) as session:
            delete_campaign(session, campaign_id)
    except REFUSALS as error:
        _flash_refusal(error)
        return redirect(url_for("admin.campaign", campaign_id=campaign_id), 303)
    flash("Draft deleted.", "done")
    return redirect(url_for("admin.campaigns"), 303)


@role_required(*EDITORS)
def test_send(campaign_id: int) -> ResponseReturnValue:
    """Send every variant's messages to seed addresses now, marked [TEST]."""
    seeds = [seed for seed in SEEDS_SPLIT.split(request.form.get("seeds", "")) if seed]
    runtime = current_runtime()
    try:
        as_contact = optional_id(request.form.get("contact_id"), "contact_id")
        with transaction(runtime.sessions) as session:
            run_id = create_test_send(session, campaign_id, seeds, datetime.now(UTC), as_contact).id
    except REFUSALS as error:
        _flash_refusal(error)
        return redirect(url_for("admin.campaign", campaign_id=campaign_id), 303)
    # Sending happens outside the transaction that queued the messages, as the runner does.
    state = build_runner(runtime).advance(run_id)
    with transaction(runtime.sessions) as session:
        counts = run_counts(session, run_id)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    flash(f"Test send to {', '.join(seeds)} {state}: {summary}.", "done")
    return redirect(url_for("admin.campaign", campaign_id=campaign_id), 303)


@role_required(*VIEWERS)
def progress(campaign_id: int) -> ResponseReturnValue:
    """Return the campaign's status and delivery counts for the page's polling."""
    try:
        with transaction(current_runtime().sessions) as session:
            return jsonify(progress_of(session, campaign_id))
    except DomainError as error:
        return json_error(error)


@role_required(*VIEWERS)
def explain(campaign_id: int) -> ResponseReturnValue:
    """Say why a contact was or was not sent the campaign (`?contact_id=`)."""
    try:
        contact_id = optional_id(request.args.get("contact_id"), "contact_id")
        if contact_id is None:
            raise InvalidInput("give a contact id", [Problem("contact_id", "give a contact id")])
        with transaction(current_runtime().sessions) as session:
            return jsonify(explain_contact(session, campaign_id, contact_id))
    except DomainError as error:
        return json_error(error)


@role_required(*VIEWERS)
def dry_run(campaign_id: int) -> ResponseReturnValue:
    """Report who would get what and who would be skipped, and why; nothing is stored."""
    runtime = current_runtime()
    try:
        with transaction(runtime.sessions) as session:
            report = dry_run_report(
                session,
                campaign_id,
                datetime.now(UTC),
                runtime.settings.dispatch.rules,
                unit_costs(runtime.settings),
            )
    except DomainError as error:
        return json_error(error)
    return jsonify(report)


def _flash_refusal(error: DomainError) -> None:
    details = "; ".join(str(problem) for problem in error.problems)
    flash(f"{error.message}{': ' + details if details else ''}.", "error")


def _can_edit() -> bool:
    user = current_user()
    return user is not None and user.role in EDITORS


def register(blueprint: Blueprint) -> None:
    """Add the campaign list, campaign page and their actions to `blueprint`."""
    one = f"/campaigns/<int(max={MAX_ID}):campaign_id>"
    blueprint.add_url_rule("/campaigns", "campaigns", campaigns)
    blueprint.add_url_rule(one, "campaign", campaign)
    for action in ACTIONS:
        view = role_required(*EDITORS)(partial(change_state, action))
        blueprint.add_url_rule(f"{one}/{action}", f"campaign_{action}", view, methods=["POST"])
    blueprint.add_url_rule(f"{one}/delete", "delete_campaign", remove_campaign, methods=["POST"])
    blueprint.add_url_rule(f"{one}/test-send", "campaign_test_send", test_send, methods=["POST"])
    blueprint.add_url_rule(f"{one}/progress", "campaign_progress", progress)
    blueprint.add_url_rule(f"{one}/explain", "campaign_explain", explain)
    blueprint.add_url_rule(f"{one}/dry-run", "campaign_dry_run", dry_run, methods=["POST"])
