"""Named uplift models and their versions: define, list, promote, roll back, load artifacts."""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.campaigns.spec import CampaignType
from campaign_engine.errors import Conflict, InvalidInput, NotFound, Problem
from campaign_engine.ingest.batch import problems_of
from campaign_engine.models import UpliftModel, UpliftModelVersion
from uplift import LEARNERS, UpliftClassifier, UpliftRegressor
from uplift.persistence import ModelArtifact, load_model, save_model

Estimator = UpliftClassifier | UpliftRegressor


class TrainingSpec(BaseModel):
    """Which campaigns train a model: listed ones, or recent ones of some types."""

    model_config = ConfigDict(extra="forbid")

    campaigns: Annotated[list[Annotated[int, Field(ge=1)]], Field(max_length=50)] = []
    campaign_types: list[CampaignType] = []
    days: Annotated[int, Field(ge=1, le=3650)] = 365

    @model_validator(mode="after")
    def _one_way(self) -> TrainingSpec:
        if bool(self.campaigns) == bool(self.campaign_types):
            raise ValueError("give either campaigns (ids) or campaign_types, not both or neither")
        return self


class ModelSpec(BaseModel):
    """A model as defined from the admin page, the CLI or the API."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    description: Annotated[str, Field(max_length=2000)] = ""
    outcome: Literal["conversion", "revenue", "margin"] = "conversion"
    learner: str = "auto"
    training: TrainingSpec
    retrain_days: Annotated[int, Field(ge=1, le=365)] | None = None
    auto_promote: bool = False
    value: Annotated[float, Field(ge=0)] | None = None
    cost: Annotated[float, Field(ge=0)] | None = None

    @field_validator("learner")
    @classmethod
    def _known_learner(cls, learner: str) -> str:
        if learner not in LEARNERS:
            raise ValueError(f"unknown learner {learner!r}; use one of {', '.join(LEARNERS)}")
        return learner


def parse_model_spec(data: Any) -> ModelSpec:
    """Validate a model definition or raise InvalidInput naming every bad field."""
    try:
        return ModelSpec.model_validate(data)
    except ValidationError as error:
        raise InvalidInput("the model definition is invalid", problems_of(error)) from None


def save_model_spec(session: Session, spec: ModelSpec, user: str | None = None) -> UpliftModel:
    """Create the model named in `spec`, or update its definition; return the row."""
    model = session.scalar(select(UpliftModel).where(UpliftModel.name == spec.name))
    if model is None:
        model = UpliftModel(name=spec.name, created_by=user)
        session.add(model)
    model.description = spec.description
    model.outcome = spec.outcome
    model.learner = spec.learner
    model.training = spec.training.model_dump(exclude_defaults=False)
    model.retrain_days = spec.retrain_days
    model.auto_promote = spec.auto_promote
    model.value = spec.value
    model.cost = spec.cost
    session.flush()
    return model


def model_spec(model: UpliftModel) -> dict[str, Any]:
    """Return a model's definition in the shape `parse_model_spec` reads."""
    return {
        "name": model.name,
        "description": model.description,
        "outcome": model.outcome,
        "learner": model.learner,
        "training": model.training,
        "retrain_days": model.retrain_days,
        "auto_promote": model.auto_promote,
        "value": model.value,
        "cost": model.cost,
    }


def get_model(session: Session, ref: int | str) -> UpliftModel:
    """Return a model by id or name, or raise NotFound."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        model = session.get(UpliftModel, int(ref))
    else:
        model = session.scalar(select(UpliftModel).where(UpliftModel.name == ref))
    if model is None:
        raise NotFound(f"uplift model {ref!r} does not exist")
    return model


def list_models(session: Session) -> list[UpliftModel]:
    """Return every model, by name."""
    return list(session.scalars(select(UpliftModel).order_by(UpliftModel.name)))


def versions_of(session: Session, model_id: int) -> list[UpliftModelVersion]:
    """Return a model's versions, newest first."""
    return list(
        session.scalars(
            select(UpliftModelVersion)
            .where(UpliftModelVersion.model_id == model_id)
            .order_by(UpliftModelVersion.version.desc())
        )
    )


def get_version(
    session: Session, model: UpliftModel, version: int | None = None
) -> UpliftModelVersion:
    """Return version number `version` of a model, or its promoted one when None."""
    query = select(UpliftModelVersion).where(UpliftModelVersion.model_id == model.id)
    if version is None:
        row = session.scalar(query.where(UpliftModelVersion.status == "promoted"))
        if row is None:
            raise NotFound(f"uplift model {model.name!r} has no promoted version yet")
        return row
    row = session.scalar(query.where(UpliftModelVersion.version == version))
    if row is None:
        raise NotFound(f"uplift model {model.name!r} has no version {version}")
    return row


def promoted_version(session: Session, model_id: int) -> UpliftModelVersion | None:
    """Return the promoted version of a model, if any."""
    return session.scalar(
        select(UpliftModelVersion).where(
            UpliftModelVersion.model_id == model_id, UpliftModelVersion.status == "promoted"
        )
    )


def promote(
    session: Session, version: UpliftModelVersion, now: datetime
) -> UpliftModelVersion | None:
    """Make `version` the one in use; retire the one it replaces and return that one."""
    if version.status == "promoted":
        raise Conflict(f"version {version.version} is already promoted")
    previous = promoted_version(session, version.model_id)
    if previous is not None:
        previous.status = "retired"
        session.flush()  # the partial unique index allows one promoted version per model
    version.status = "promoted"
    version.promoted_at = now
    session.flush()
    return previous


def rollback(session: Session, model: UpliftModel, now: datetime) -> UpliftModelVersion:
    """Promote again the version promoted before the current one; return it."""
    current = promoted_version(session, model.id)
    if current is None:
        raise Conflict(f"uplift model {model.name!r} has no promoted version to roll back")
    earlier = session.scalar(
        select(UpliftModelVersion)
        .where(
            UpliftModelVersion.model_id == model.id,
            UpliftModelVersion.id != current.id,
            UpliftModelVersion.promoted_at.is_not(None),
        )
        .order_by(UpliftModelVersion.promoted_at.desc(), UpliftModelVersion.id.desc())
        .limit(1)
    )
    if earlier is None:
        raise Conflict(f"uplift model {model.name!r} has no earlier promoted version")
    promote(session, earlier, now)
    return earlier


def request_training(
    session: Session, model: UpliftModel, user: str | None, now: datetime
) -> UpliftModel:
    """Ask the scheduler's uplift job to train a new version of `model` soon."""
    model.train_requested_at = now
    model.train_requested_by = user
    session.flush()
    return model


def next_version_number(session: Session, model_id: int) -> int:
    """Return the number the next version of a model gets."""
    latest = session.scalar(
        select(func.max(UpliftModelVersion.version)).where(UpliftModelVersion.model_id == model_id)
    )
    return int(latest or 0) + 1


@dataclass(frozen=True)
class Artifact:
    """A model's bytes and their checksum, as stored on its version."""

    data: bytes
    sha256: str


def dump_estimator(estimator: Estimator, extra: dict[str, Any]) -> Artifact:
    """Serialise a fitted estimator with its metadata."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.joblib"
        save_model(estimator, path, extra)
        data = path.read_bytes()
    return Artifact(data=data, sha256=hashlib.sha256(data).hexdigest())


_LOADED: dict[tuple[int, str], ModelArtifact] = {}
_KEEP_LOADED = 8


def load_version(version: UpliftModelVersion) -> ModelArtifact:
    """Return the fitted model of a version, loaded once per process and checked."""
    key = (version.id, version.artifact_sha256)
    if key in _LOADED:
        return _LOADED[key]
    if hashlib.sha256(version.artifact).hexdigest() != version.artifact_sha256:
        raise InvalidInput(
            f"version {version.version} of model {version.model_id} is damaged",
            [Problem("artifact", "its checksum does not match the stored one")],
        )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.joblib"
        path.write_bytes(version.artifact)
        artifact = load_model(path)
    if len(_LOADED) >= _KEEP_LOADED:
        _LOADED.pop(next(iter(_LOADED)))
    _LOADED[key] = artifact
    return artifact
