"""Journey endpoints: drafts, validation, publishing and lifecycle, stats, simulation, library."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

from flask import Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from campaign_engine.api import api_blueprint, json_body, requires_scope
from campaign_engine.db import transaction
from campaign_engine.journeys import analytics, library_install, service, simulation
from campaign_engine.journeys.problems import bad_body, problems_json
from campaign_engine.models.types import utcnow
from campaign_engine.web import current_runtime

ACTIONS = ("publish", "pause", "resume", "archive")
M = TypeVar("M", bound=BaseModel)


class ValidateBody(BaseModel):
    """A definition to check without saving it."""

    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any]


class SimulateBody(BaseModel):
    """How long to simulate, over how many contacts; `definition` overrides the saved draft."""

    model_config = ConfigDict(extra="forbid")

    days: Annotated[int, Field(ge=1, le=simulation.MAX_DAYS)] = 30
    sample: Annotated[int, Field(ge=1, le=simulation.MAX_SAMPLE)] = 2_000
    seed: int = 0
    start: datetime | None = None
    definition: dict[str, Any] | None = None


class InstallBody(BaseModel):
    """Ids to use for a library journey's template and segment names (the rest are found)."""

    model_config = ConfigDict(extra="forbid")

    templates: dict[str, int] = {}
    segments: dict[str, int] = {}


def _parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise bad_body(error) from None


def _optional_body() -> Any:
    """Return the JSON body, or {} when none was sent (every field has a default)."""
    return json_body() if request.content_length else {}


@api_blueprint.get("/journeys")
@requires_scope("read")
def list_journeys() -> Response:
    """List journeys by name with their status, current version and enrollment counts."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(journeys=service.list_journeys(session))


@api_blueprint.post("/journeys")
@requires_scope("campaigns")
def create_journey() -> tuple[Response, int]:
    """Save a new draft journey (problems are reported, not refused)."""
    with transaction(current_runtime().sessions) as session:
        journey = service.create_journey(session, json_body())
        return jsonify(service.describe_journey(session, journey.id)), 201


@api_blueprint.get("/journeys/<int:journey_id>")
@requires_scope("read")
def get_journey(journey_id: int) -> Response:
    """Return a journey: draft, its problems, versions and counts."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(service.describe_journey(session, journey_id))


@api_blueprint.put("/journeys/<int:journey_id>")
@requires_scope("campaigns")
def replace_journey(journey_id: int) -> Response:
    """Replace a journey's name, description or draft."""
    with transaction(current_runtime().sessions) as session:
        service.update_journey(session, journey_id, json_body())
        return jsonify(service.describe_journey(session, journey_id))


@api_blueprint.delete("/journeys/<int:journey_id>")
@requires_scope("campaigns")
def delete_journey(journey_id: int) -> tuple[str, int]:
    """Delete a journey that was never published."""
    with transaction(current_runtime().sessions) as session:
        service.delete_journey(session, journey_id)
    return "", 204


@api_blueprint.post("/journeys/validate")
@requires_scope("read")
def validate_journey() -> Response:
    """Return every problem with a definition; nothing is saved."""
    body = _parse(ValidateBody, json_body())
    with transaction(current_runtime().sessions) as session:
        problems = service.check_draft(session, body.definition)
    return jsonify(valid=not problems, problems=problems_json(problems))


def _transition(journey_id: int, action: str) -> Response:
    with transaction(current_runtime().sessions) as session:
        match action:
            case "publish":
                service.publish(session, journey_id, None, utcnow())
            case "pause":
                service.pause(session, journey_id)
            case "resume":
                service.resume(session, journey_id)
            case "archive":
                service.archive(session, journey_id, utcnow())
        return jsonify(service.describe_journey(session, journey_id))


def _action_view(action: str) -> Callable[[int], Response]:
    def view(journey_id: int) -> Response:
        return _transition(journey_id, action)

    view.__name__ = f"{action}_journey"
    view.__doc__ = f"{action.capitalize()} a journey."
    return view


for _action in ACTIONS:  # one documented route per action: /journeys/<id>/publish, ...
    api_blueprint.post(f"/journeys/<int:journey_id>/{_action}")(
        requires_scope("campaigns")(_action_view(_action))
    )


@api_blueprint.get("/journeys/<int:journey_id>/stats")
@requires_scope("read")
def journey_stats(journey_id: int) -> Response:
    """Return counts per step and goal conversion against the holdout; `?version_id=` narrows."""
    version_id = request.args.get("version_id", type=int)
    with transaction(current_runtime().sessions) as session:
        return jsonify(analytics.journey_stats(session, journey_id, version_id))


@api_blueprint.post("/journeys/<int:journey_id>/simulate")
@requires_scope("read")
def simulate_journey(journey_id: int) -> Response:
    """Simulate the draft (or the given definition) over stored contacts; sends nothing."""
    body = _parse(SimulateBody, _optional_body())
    with transaction(current_runtime().sessions) as session:
        definition = body.definition or service.get_journey(session, journey_id).draft
        result = simulation.simulate_journey(
            session, definition, days=body.days, sample=body.sample, start=body.start,
            seed=body.seed,
        )  # fmt: skip
    return jsonify(result)


@api_blueprint.get("/journeys/library")
@requires_scope("read")
def journey_library() -> Response:
    """List the ready-made journeys with their stage and what they need."""
    return jsonify(journeys=library_install.library_entries())


@api_blueprint.post("/journeys/library/<key>/install")
@requires_scope("campaigns")
def install_library_journey(key: str) -> tuple[Response, int]:
    """Save a library journey as a draft, finding or creating its templates and segments."""
    body = _parse(InstallBody, _optional_body())
    with transaction(current_runtime().sessions) as session:
        journey = library_install.install_from_library(
            session, key, None, templates=body.templates, segments=body.segments
        )
        return jsonify(service.describe_journey(session, journey.id)), 201
