"""Journeys: the marketer's working copy, published versions, enrollments and their trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base, JSONDoc
from campaign_engine.models.types import IdType, UTCDateTime, utcnow

JOURNEY_STATES = ("draft", "published", "paused", "archived")
ENROLLMENT_STATES = ("active", "waiting", "completed", "exited", "converted")
WEBHOOK_STATES = ("pending", "done", "failed")


class Journey(Base):
    """A journey: its working copy (`draft`), and which published version new entries get.

    Sends go through the ledger under the journey's companion campaign (`campaign_id`, made
    on first publish), so tracking, attribution and reports treat a journey like a campaign.
    """

    __tablename__ = "journeys"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    draft: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    current_version_id: Mapped[int | None] = mapped_column(IdType)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (CheckConstraint(f"status IN {JOURNEY_STATES!r}", name="status"),)


class JourneyVersion(Base):
    """A published, frozen definition; contacts stay on the version they entered."""

    __tablename__ = "journey_versions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by: Mapped[str | None] = mapped_column(String(320))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_runs.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("journey_id", "version"),)


class JourneyEnrollment(Base):
    """One contact's pass through one journey version: where they are and when to look again.

    `state` is the pure engine's EnrollmentState as JSON; `due_at` is when the runner must
    advance it next (NULL: nothing to do until an event or a segment change wakes it).
    """

    __tablename__ = "journey_enrollments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("journey_versions.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    entry_number: Mapped[int] = mapped_column(Integer, default=1)
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="active")
    node_id: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("journey_id", "contact_id", "entry_number"),
        Index("ix_journey_enrollments_due", "due_at", "status"),
        Index("ix_journey_enrollments_contact", "contact_id", "journey_id"),
        Index("ix_journey_enrollments_journey_node", "journey_id", "node_id", "status"),
        CheckConstraint(f"status IN {ENROLLMENT_STATES!r}", name="status"),
    )


class JourneyStep(Base):
    """An enrollment's arrival at a node (and how it left): the trail analytics count."""

    __tablename__ = "journey_steps"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("journey_enrollments.id", ondelete="CASCADE")
    )
    journey_id: Mapped[int] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("journey_versions.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(16))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))  # the branch taken, or how it ended

    __table_args__ = (
        UniqueConstraint("enrollment_id", "node_id", "entered_at"),
        Index("ix_journey_steps_journey_node", "journey_id", "node_id"),
    )


class JourneyWebhookCall(Base):
    """A webhook action waiting to be made (or made): an outbox, so the runner never blocks."""

    __tablename__ = "journey_webhook_calls"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    enrollment_id: Mapped[int] = mapped_column(
        ForeignKey("journey_enrollments.id", ondelete="CASCADE")
    )
    node_id: Mapped[str] = mapped_column(String(16))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    save_response_to: Mapped[str | None] = mapped_column(String(120))
    timeout_seconds: Mapped[int] = mapped_column(Integer, default=5)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("enrollment_id", "node_id"),
        Index("ix_journey_webhook_calls_due", "status", "next_attempt_at"),
        CheckConstraint(f"status IN {WEBHOOK_STATES!r}", name="status"),
    )
