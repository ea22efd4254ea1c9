"""Uplift model endpoints: define, list, inspect versions, ask for training, promote, scores."""

from __future__ import annotations

from dataclasses import asdict

from flask import Response, jsonify

from campaign_engine.api import api_blueprint, json_body, requires_scope
from campaign_engine.db import transaction
from campaign_engine.models.types import utcnow
from campaign_engine.uplift_models import actions, views
from campaign_engine.web import current_runtime

MODEL = "/uplift/models/<model_ref>"


@api_blueprint.get("/uplift/models")
@requires_scope("read")
def list_uplift_models() -> Response:
    """List models with their promoted version and last scoring run."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(models=[asdict(row) for row in views.list_model_rows(session)])


@api_blueprint.post("/uplift/models")
@requires_scope("campaigns")
def define_uplift_model() -> tuple[Response, int]:
    """Create a model, or replace the definition of the one with the same name."""
    with transaction(current_runtime().sessions) as session:
        saved = actions.define(session, json_body(), "api")
        return jsonify(views.describe_model(session, saved.id)), 201 if saved.created else 200


@api_blueprint.get(MODEL)
@requires_scope("read")
def get_uplift_model(model_ref: str) -> Response:
    """Return a model by id or name, with its versions and last scoring run."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(views.describe_model(session, model_ref))


@api_blueprint.get(MODEL + "/versions/<int:number>")
@requires_scope("read")
def get_uplift_version(model_ref: str, number: int) -> Response:
    """Return one version with its held-out metrics (Qini curves, deciles, calibration)."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(views.version_detail(session, model_ref, number))


@api_blueprint.post(MODEL + "/train")
@requires_scope("campaigns")
def train_uplift_model(model_ref: str) -> tuple[Response, int]:
    """Ask the scheduler to train a new version (202: fitting never runs in a request)."""
    with transaction(current_runtime().sessions) as session:
        model = actions.ask_for_training(session, model_ref, "api", utcnow())
        return jsonify(model=model.name, train_requested_at=model.train_requested_at), 202


@api_blueprint.post(MODEL + "/versions/<int:number>/promote")
@requires_scope("campaigns")
def promote_uplift_version(model_ref: str, number: int) -> Response:
    """Promote a version; the one it replaces is retired and scores are refreshed by the job."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(asdict(actions.promote_number(session, model_ref, number, utcnow())))


@api_blueprint.post(MODEL + "/rollback")
@requires_scope("campaigns")
def roll_back_uplift_model(model_ref: str) -> Response:
    """Promote again the version promoted before the current one."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(asdict(actions.roll_back(session, model_ref, utcnow())))


@api_blueprint.get(MODEL + "/scores/<int:contact_id>")
@requires_scope("read")
def get_uplift_score(model_ref: str, contact_id: int) -> Response:
    """Return a contact's current uplift score and percentile under a model."""
    with transaction(current_runtime().sessions) as session:
        return jsonify(views.contact_score(session, model_ref, contact_id))
