"""Uplift model registry: named models, their trained versions, scoring runs and stored scores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base, JSONDoc
from campaign_engine.models.types import IdType, UTCDateTime, utcnow

VERSION_STATES = ("candidate", "promoted", "retired")
SCORING_STATES = ("running", "ranking", "done", "failed")


class UpliftModel(Base):
    """A named uplift model: how it is trained, and how often it is retrained.

    `training` selects the campaigns: `{"campaigns": [ids]}` or `{"campaign_types": [...],
    "days": N}` (every finished randomised campaign of those types that started in the last N
    days). `value` and `cost` are the default value of one conversion and cost of one contact
    for the policy chart.
    """

    __tablename__ = "uplift_models"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(16), default="conversion")
    learner: Mapped[str] = mapped_column(String(16), default="auto")
    training: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    retrain_days: Mapped[int | None] = mapped_column(Integer)
    auto_promote: Mapped[bool] = mapped_column(default=False)
    value: Mapped[float | None] = mapped_column(Float)
    cost: Mapped[float | None] = mapped_column(Float)
    # Set when someone asks for a new version from the admin page or API; the scheduler's
    # uplift job trains it (never inside a web request) and clears it.
    train_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    train_requested_by: Mapped[str | None] = mapped_column(String(320))
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("outcome IN ('conversion', 'revenue', 'margin')", name="outcome"),
    )


class UpliftModelVersion(Base):
    """One trained version of a model: its artifact, what it was trained on, and how it did.

    At most one version of a model is `promoted`: the one scores, campaigns and journeys use.
    `metrics` holds the held-out evaluation (Qini curves against random and response
    propensity, deciles, calibration, the policy curve) drawn on the models page.
    """

    __tablename__ = "uplift_model_versions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("uplift_models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="candidate")
    learner: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    campaign_ids: Mapped[list[int]] = mapped_column(JSONDoc, default=list)
    features: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    library_versions: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    n_rows: Mapped[int] = mapped_column(Integer)
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    artifact_sha256: Mapped[str] = mapped_column(String(64))
    trained_by: Mapped[str | None] = mapped_column(String(320))
    trained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("model_id", "version"),
        CheckConstraint(f"status IN {VERSION_STATES!r}", name="status"),
        Index(
            "uq_uplift_model_versions_promoted",
            "model_id",
            unique=True,
            postgresql_where=text("status = 'promoted'"),
            sqlite_where=text("status = 'promoted'"),
        ),
    )


class UpliftScoringRun(Base):
    """A scoring of every contact by a model version, done in batches of contact-id ranges."""

    __tablename__ = "uplift_scoring_runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("uplift_models.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(
        ForeignKey("uplift_model_versions.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16), default="running")
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    batches_done: Mapped[int] = mapped_column(Integer, default=0)
    scored: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"status IN {SCORING_STATES!r}", name="status"),
        # One unfinished run per version: a second scheduler's insert fails instead of racing.
        Index(
            "uq_uplift_scoring_runs_active",
            "version_id",
            unique=True,
            postgresql_where=text("status IN ('running', 'ranking')"),
            sqlite_where=text("status IN ('running', 'ranking')"),
        ),
    )


class UpliftScore(Base):
    """A contact's current uplift score under a model, and its rank among everyone scored.

    `percentile` is the share of scored contacts ranked above this one (0 is the best).
    """

    __tablename__ = "uplift_scores"

    model_id: Mapped[int] = mapped_column(
        ForeignKey("uplift_models.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("uplift_model_versions.id", ondelete="CASCADE")
    )
    score: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float | None] = mapped_column(Float)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_uplift_scores_model_score", "model_id", "score"),
        Index("ix_uplift_scores_contact", "contact_id"),
    )
