"""Act on uplift models by name or id: define, save a form, promote, roll back, ask for training.

Thin services over the registry for the admin pages and the CLI; none fits a model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_engine.errors import Conflict
from campaign_engine.models import UpliftModel
from campaign_engine.uplift_models import registry


@dataclass(frozen=True)
class Saved:
    """A saved model definition: its id, name, and whether it was new."""

    id: int
    name: str
    created: bool


def define(session: Session, data: Any, user: str | None = None) -> Saved:
    """Validate a definition and create or update the model it names."""
    spec = registry.parse_model_spec(data)
    existed = session.scalar(select(UpliftModel.id).where(UpliftModel.name == spec.name))
    model = registry.save_model_spec(session, spec, user)
    return Saved(id=model.id, name=model.name, created=existed is None)


def _blank(value: str | None) -> str | None:
    return value if value is not None and value.strip() else None


def spec_from_form(form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """Turn the posted define/edit form (each field's list of values) into a definition.

    Values stay strings where they came as such, so validation names the field of a bad number.
    """

    def one(name: str) -> str | None:
        values = form.get(name) or []
        return _blank(values[0]) if values else None

    if one("training_mode") == "types":
        training: dict[str, Any] = {"campaign_types": list(form.get("campaign_types") or [])}
        if one("days") is not None:
            training["days"] = one("days")
    else:
        training = {"campaigns": list(form.get("campaigns") or [])}
    return {
        "name": (one("name") or "").strip(),
        "description": one("description") or "",
        "outcome": one("outcome") or "conversion",
        "learner": one("learner") or "auto",
        "training": training,
        "retrain_days": one("retrain_days"),
        "auto_promote": one("auto_promote") is not None,
        "value": one("value"),
        "cost": one("cost"),
    }


def save_form(
    session: Session,
    form: Mapping[str, Sequence[str]],
    user: str | None,
    model_id: int | None = None,
) -> Saved:
    """Create a model from the form (`model_id` None) or update the model `model_id`.

    A new model may not take the name of an existing one; an edited one keeps its name.
    """
    data = spec_from_form(form)
    if model_id is not None:
        data["name"] = registry.get_model(session, model_id).name
    spec = registry.parse_model_spec(data)
    if model_id is None and session.scalar(
        select(UpliftModel.id).where(UpliftModel.name == spec.name)
    ):
        raise Conflict(f"a model named {spec.name!r} already exists; edit it instead")
    model = registry.save_model_spec(session, spec, user)
    return Saved(id=model.id, name=model.name, created=model_id is None)


@dataclass(frozen=True)
class Switched:
    """The version now in use after a promotion or roll-back, and the one it replaced."""

    model: str
    version: int
    learner: str
    replaced: int | None


def promote_number(session: Session, model_ref: int | str, number: int, now: datetime) -> Switched:
    """Promote version `number` of a model; the previous one is retired."""
    model = registry.get_model(session, model_ref)
    version = registry.get_version(session, model, number)
    previous = registry.promote(session, version, now)
    return Switched(
        model=model.name,
        version=version.version,
        learner=version.learner,
        replaced=previous.version if previous else None,
    )


def roll_back(session: Session, model_ref: int | str, now: datetime) -> Switched:
    """Promote again the version promoted before the current one."""
    model = registry.get_model(session, model_ref)
    current = registry.promoted_version(session, model.id)
    earlier = registry.rollback(session, model, now)
    return Switched(
        model=model.name,
        version=earlier.version,
        learner=earlier.learner,
        replaced=current.version if current else None,
    )


def ask_for_training(
    session: Session, model_ref: int | str, user: str | None, now: datetime
) -> UpliftModel:
    """Ask the scheduler's `uplift-models` job to train a new version; refuse a second ask."""
    model = registry.get_model(session, model_ref)
    if model.train_requested_at is not None:
        raise Conflict(
            f"training of {model.name!r} was already requested at "
            f"{model.train_requested_at:%Y-%m-%d %H:%M} UTC; the scheduler picks it up shortly"
        )
    return registry.request_training(session, model, user, now)
