"""Models section: uplift models, their versions, charts and policy; define, promote, roll back.

Nothing here fits a model: "Train a new version" records a request that the scheduler's
`uplift-models` job carries out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from admin.model_figures import model_charts
from admin.pages import MAX_ID
from admin.sections import roles_for
from admin.security import current_user, role_required
from campaign_engine.app import current_runtime
from campaign_engine.db import transaction
from campaign_engine.errors import Conflict, InvalidInput
from campaign_engine.models.types import utcnow
from campaign_engine.uplift_models import actions, views

ANALYSTS = roles_for("models")
# Refusals the user can act on come back as a message on the model page.
REFUSALS = (Conflict, InvalidInput)


@role_required(*ANALYSTS)
def models() -> ResponseReturnValue:
    """List models with their promoted version, its Qini, and the last scoring run."""
    with transaction(current_runtime().sessions) as session:
        rows = views.list_model_rows(session)
    return render_template("models.html", models=rows)


@role_required(*ANALYSTS)
def model(model_id: int) -> ResponseReturnValue:
    """Show a model: versions, the selected version's charts, and the policy chart."""
    query = views.parse_policy_query(request.args)
    with transaction(current_runtime().sessions) as session:
        page = views.model_page(session, model_id, query)
    return render_template("model_detail.html", page=page, charts=model_charts(page))


@role_required(*ANALYSTS)
def new_model() -> ResponseReturnValue:
    """Open the form of a new model."""
    return _form(None)


@role_required(*ANALYSTS)
def edit_model(model_id: int) -> ResponseReturnValue:
    """Open the form of a stored model."""
    return _form(model_id)


def _form(
    model_id: int | None, error: InvalidInput | Conflict | None = None
) -> ResponseReturnValue:
    posted = actions.spec_from_form(request.form.to_dict(flat=False)) if error else None
    with transaction(current_runtime().sessions) as session:
        form = views.model_form(session, model_id, posted)
    return render_template(
        "model_edit.html", form=form, error=error
    ), error.status if error else 200


@role_required(*ANALYSTS)
def save_new_model() -> ResponseReturnValue:
    """Create a model from the posted form."""
    return _save(None)


@role_required(*ANALYSTS)
def save_model(model_id: int) -> ResponseReturnValue:
    """Save the posted form to a stored model."""
    return _save(model_id)


def _save(model_id: int | None) -> ResponseReturnValue:
    try:
        with transaction(current_runtime().sessions) as session:
            saved = actions.save_form(
                session, request.form.to_dict(flat=False), _user_email(), model_id
            )
    except REFUSALS as error:
        return _form(model_id, error)
    flash(f"Model “{saved.name}” saved.", "done")
    return redirect(url_for("admin.model", model_id=saved.id), 303)


def _act(model_id: int, act: Callable[[Session, datetime], str]) -> ResponseReturnValue:
    try:
        with transaction(current_runtime().sessions) as session:
            done = act(session, utcnow())
    except REFUSALS as error:
        flash(f"{error.message}.", "error")
    else:
        flash(done, "done")
    return redirect(url_for("admin.model", model_id=model_id), 303)


@role_required(*ANALYSTS)
def train(model_id: int) -> ResponseReturnValue:
    """Ask the scheduler to train a new version; training never runs in this request."""

    def ask(session: Session, now: datetime) -> str:
        actions.ask_for_training(session, model_id, _user_email(), now)
        return "Training requested: the scheduler trains a new version within a few minutes."

    return _act(model_id, ask)


@role_required(*ANALYSTS)
def promote(model_id: int, version: int) -> ResponseReturnValue:
    """Promote a version: scoring, campaigns and journeys use it from now on."""

    def switch(session: Session, now: datetime) -> str:
        done = actions.promote_number(session, model_id, version, now)
        return f"Version {done.version} promoted; the scheduler rescores contacts with it."

    return _act(model_id, switch)


@role_required(*ANALYSTS)
def rollback(model_id: int) -> ResponseReturnValue:
    """Promote again the version in use before the current one."""

    def back(session: Session, now: datetime) -> str:
        done = actions.roll_back(session, model_id, now)
        return f"Rolled back to version {done.version} (version {done.replaced} retired)."

    return _act(model_id, back)


def _user_email() -> str | None:
    user = current_user()
    return user.email if user else None


def register(blueprint: Blueprint) -> None:
    """Add the models pages and their actions to `blueprint`."""
    one = f"/models/<int(max={MAX_ID}):model_id>"
    blueprint.add_url_rule("/models", "models", models)
    blueprint.add_url_rule("/models/new", "new_model", new_model)
    blueprint.add_url_rule("/models/new", "save_new_model", save_new_model, methods=["POST"])
    blueprint.add_url_rule(one, "model", model)
    blueprint.add_url_rule(f"{one}/edit", "edit_model", edit_model)
    blueprint.add_url_rule(f"{one}/edit", "save_model", save_model, methods=["POST"])
    blueprint.add_url_rule(f"{one}/train", "train_model", train, methods=["POST"])
    blueprint.add_url_rule(
        f"{one}/versions/<int(max=1000000):version>/promote",
        "promote_model_version",
        promote,
        methods=["POST"],
    )
    blueprint.add_url_rule(f"{one}/rollback", "rollback_model", rollback, methods=["POST"])
