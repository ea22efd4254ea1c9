"""Journey list, library install and the canvas editor with its JSON endpoints."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from admin.json_replies import json_error, json_object
from admin.pages import MAX_ID
from admin.sections import roles_for
from admin.security import current_user, role_required
from campaign_engine.app import current_runtime
from campaign_engine.db import transaction
from campaign_engine.errors import Conflict, DomainError, InvalidInput, Problem
from campaign_engine.journeys import analytics, library_install, service, simulation
from campaign_engine.journeys.problems import BadBody, problems_json
from campaign_engine.message_templates import list_templates
from campaign_engine.segments.service import list_segments

# Journeys are a marketer's tool: whoever may open the section may edit (see sections.py).
EDITORS = roles_for("journeys")
# Refusals a marketer can act on come back as a message on the list page.
REFUSALS = (InvalidInput, Conflict, BadBody)
MAX_SIMULATED_DAYS = 365

Lifecycle = Callable[[Session, int, str | None, datetime], object]
LIFECYCLE: dict[str, Lifecycle] = {
    "publish": lambda s, j, user, now: service.publish(s, j, user, now),
    "pause": lambda s, j, _user, _now: service.pause(s, j),
    "resume": lambda s, j, _user, _now: service.resume(s, j),
    "archive": lambda s, j, _user, now: service.archive(s, j, now),
}


# --- pages ------------------------------------------------------------------------------------


@role_required(*EDITORS)
def journeys() -> ResponseReturnValue:
    """List journeys with status, version and counts, and the library to install from."""
    with transaction(current_runtime().sessions) as session:
        rows = service.list_journeys(session)
    library = library_install.library_entries()
    return render_template("journeys.html", journeys=rows, library=library)


@role_required(*EDITORS)
def new_journey() -> ResponseReturnValue:
    """Create an empty draft journey named in the form and open it on the canvas."""
    body = {"name": request.form.get("name", "").strip()}
    try:
        with transaction(current_runtime().sessions) as session:
            journey_id = service.create_journey(session, body, _user_email()).id
    except REFUSALS as error:
        _flash_refusal(error)
        return redirect(url_for("admin.journeys"), 303)
    return redirect(url_for("admin.journey", journey_id=journey_id), 303)


@role_required(*EDITORS)
def install(key: str) -> ResponseReturnValue:
    """Copy a library journey as a draft (finding its templates and segments) and open it."""
    try:
        with transaction(current_runtime().sessions) as session:
            journey_id = library_install.install_from_library(session, key, _user_email()).id
    except REFUSALS as error:
        _flash_refusal(error)
        return redirect(url_for("admin.journeys"), 303)
    flash("Installed from the library as a draft: check it, then publish.", "done")
    return redirect(url_for("admin.journey", journey_id=journey_id), 303)


@role_required(*EDITORS)
def journey(journey_id: int) -> ResponseReturnValue:
    """Open the canvas on a journey's draft, with what its pickers offer."""
    with transaction(current_runtime().sessions) as session:
        described = service.describe_journey(session, journey_id)
        templates = [
            {"id": t.id, "name": t.name, "channel": t.channel}
            for t in list_templates(session)
            if t.kind == "message"
        ]
        segments = [{"id": s.id, "name": s.name} for s in list_segments(session)]
    initial = {
        "journey": _journey_json(described),
        "problems": described["problems"],
        "templates": templates,
        "segments": segments,
        "urls": {
            "check": url_for("admin.journey_check"),
            "save": url_for("admin.journey_save", journey_id=journey_id),
            "counts": url_for("admin.journey_counts", journey_id=journey_id),
            "simulate": url_for("admin.journey_simulate", journey_id=journey_id),
        }
        | {
            action: url_for("admin.journey_action", action=action, journey_id=journey_id)
            for action in LIFECYCLE
        },
    }
    return render_template("journey_canvas.html", journey=described, initial=initial)


# --- JSON endpoints of the canvas -------------------------------------------------------------


@role_required(*EDITORS)
def check() -> ResponseReturnValue:
    """Return every problem of the posted definition (`{"definition"}`), by step id."""
    try:
        body = json_object()
        with transaction(current_runtime().sessions) as session:
            problems = service.check_draft(session, body.get("definition"))
    except DomainError as error:
        return json_error(error)
    return jsonify(problems=problems_json(problems))


@role_required(*EDITORS)
def save(journey_id: int) -> ResponseReturnValue:
    """Replace the draft (`{"name"?, "description"?, "definition"?}`); answer it with problems."""
    try:
        body = json_object()
        with transaction(current_runtime().sessions) as session:
            service.update_journey(session, journey_id, body, _user_email())
            described = service.describe_journey(session, journey_id)
    except DomainError as error:
        return json_error(error)
    return jsonify(journey=_journey_json(described), problems=described["problems"])


def change_state(action: str, journey_id: int) -> ResponseReturnValue:
    """Publish, pause, resume or archive; a refused publish lists the problems by step."""
    try:
        with transaction(current_runtime().sessions) as session:
            LIFECYCLE[action](session, journey_id, _user_email(), datetime.now(UTC))
            described = service.describe_journey(session, journey_id)
    except DomainError as error:
        return json_error(error)
    return jsonify(journey=_journey_json(described), problems=described["problems"])


@role_required(*EDITORS)
def counts(journey_id: int) -> ResponseReturnValue:
    """Return per-step counts (entered, waiting, left, exited, converted) and the summary."""
    try:
        with transaction(current_runtime().sessions) as session:
            stats = analytics.journey_stats(session, journey_id)
    except DomainError as error:
        return json_error(error)
    nodes = stats.pop("nodes")
    return jsonify(nodes=nodes, summary=stats)


@role_required(*EDITORS)
def simulate(journey_id: int) -> ResponseReturnValue:
    """Simulate the posted definition (`{"definition", "days"}`) over stored contacts."""
    try:
        body = json_object()
        days = _days(body.get("days", 30))
        with transaction(current_runtime().sessions) as session:
            result = simulation.simulate_journey(session, body.get("definition"), days=days)
    except DomainError as error:
        return json_error(error)
    return jsonify(result)


# --- helpers ----------------------------------------------------------------------------------


def _journey_json(described: dict[str, Any]) -> dict[str, Any]:
    """Return what the canvas keeps of a described journey."""
    keys = ("id", "name", "description", "status", "version", "definition", "campaign_id")
    return {key: described[key] for key in keys}


def _days(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_SIMULATED_DAYS:
        return value
    raise InvalidInput(
        "the simulation needs a number of days",
        [Problem("days", f"give a whole number of days from 1 to {MAX_SIMULATED_DAYS}")],
    )


def _flash_refusal(error: DomainError) -> None:
    details = "; ".join(str(problem) for problem in error.problems)
    flash(f"{error.message}: {details}" if details else error.message, "error")


def _user_email() -> str | None:
    user = current_user()
    return None if user is None else user.email


def register(blueprint: Blueprint) -> None:
    """Add the journey pages and the canvas's JSON endpoints to `blueprint`."""
    one = f"/journeys/<int(max={MAX_ID}):journey_id>"
    blueprint.add_url_rule("/journeys", "journeys", journeys)
    blueprint.add_url_rule("/journeys/new", "new_journey", new_journey, methods=["POST"])
    blueprint.add_url_rule(
        "/journeys/library/<string(maxlength=64):key>", "journey_install", install, methods=["POST"]
    )
    blueprint.add_url_rule("/journeys/check", "journey_check", check, methods=["POST"])
    blueprint.add_url_rule(one, "journey", journey)
    blueprint.add_url_rule(f"{one}/draft", "journey_save", save, methods=["PUT"])
    blueprint.add_url_rule(f"{one}/counts", "journey_counts", counts)
    blueprint.add_url_rule(f"{one}/simulate", "journey_simulate", simulate, methods=["POST"])
    blueprint.add_url_rule(
        f"{one}/<any({', '.join(LIFECYCLE)}):action>",
        "journey_action",
        role_required(*EDITORS)(change_state),
        methods=["POST"],
    )
