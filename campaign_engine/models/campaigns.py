"""Campaigns: plan, audience, variants, messages, runs and members (treated or held out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base, JSONDoc
from campaign_engine.models.types import IdType, Money, UTCDateTime, utcnow

GROUPS = ("treatment", "control")
STATUSES = ("draft", "scheduled", "running", "paused", "completed", "cancelled")
TYPES = ("acquisition", "retention", "cross_sell", "up_sell", "win_back", "newsletter")
SCHEDULES = ("none", "once", "cron", "local_time")
RUN_KINDS = ("scheduled", "winner", "test", "journey")  # regular, A/B winner, test, journey sends
RUN_STATES = ("due", "preparing", "sending", "paused", "completed", "cancelled", "failed")


class Campaign(Base):
    """A marketing campaign over one channel; `code` is what orders may carry."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32), default="marketing")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cost: Mapped[float] = mapped_column(Money, default=0)  # fixed costs; sends add their own
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    type: Mapped[str] = mapped_column(String(16), default="newsletter")
    objective: Mapped[str] = mapped_column(Text, default="")
    budget: Mapped[float | None] = mapped_column(Money)
    schedule: Mapped[str] = mapped_column(String(16), default="none")
    send_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cron: Mapped[str | None] = mapped_column(String(100))
    cron_timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    local_hour: Mapped[int | None] = mapped_column(Integer)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    holdout_percent: Mapped[float] = mapped_column(Float, default=0)
    ab_test_hours: Mapped[int | None] = mapped_column(Integer)
    ab_test_percent: Mapped[float] = mapped_column(Float, default=100)
    winner_metric: Mapped[str | None] = mapped_column(String(32))
    winner_variant: Mapped[str | None] = mapped_column(String(16))
    # Attribution windows (days after each kind of touch) and the holdout comparison window.
    attribution_click_days: Mapped[int] = mapped_column(Integer, default=7)
    attribution_open_days: Mapped[int] = mapped_column(Integer, default=3)
    attribution_delivery_days: Mapped[int] = mapped_column(Integer, default=1)
    outcome_days: Mapped[int] = mapped_column(Integer, default=7)
    # Uplift targeting ({"model": name, "rule": ..., ...}); None contacts the whole audience.
    targeting: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    created_by: Mapped[str | None] = mapped_column(String(320))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(f"status IN {STATUSES!r}", name="status"),
        CheckConstraint(f"type IN {TYPES!r}", name="type"),
        CheckConstraint(f"schedule IN {SCHEDULES!r}", name="schedule"),
    )


class CampaignSegment(Base):
    """A segment a campaign targets (or, with `exclude`, leaves out)."""

    __tablename__ = "campaign_segments"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    segment_id: Mapped[int] = mapped_column(ForeignKey("segments.id"), primary_key=True)
    exclude: Mapped[bool] = mapped_column(Boolean, default=False)


class CampaignVariant(Base):
    """An A/B variant of a campaign with its share of the treated contacts, in percent."""

    __tablename__ = "campaign_variants"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(16))
    share: Mapped[float] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("campaign_id", "name"),)


class CampaignMessage(Base):
    """The template a variant sends on one channel."""

    __tablename__ = "campaign_messages"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("campaign_variants.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    template_id: Mapped[int] = mapped_column(ForeignKey("message_templates.id"))

    __table_args__ = (UniqueConstraint("variant_id", "channel"),)


class CampaignRun(Base):
    """One send of a campaign (the only one, or one occurrence of a recurring schedule)."""

    __tablename__ = "campaign_runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="due")
    kind: Mapped[str] = mapped_column(String(16), default="scheduled")
    target_list_id: Mapped[int | None] = mapped_column(
        ForeignKey("target_lists.id", ondelete="SET NULL")
    )
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    prepared_through: Mapped[int] = mapped_column(Integer, default=0)  # last contact id decided
    prepared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("campaign_id", "due_at", "kind"),
        CheckConstraint(f"kind IN {RUN_KINDS!r}", name="kind"),
        Index("ix_campaign_runs_status_due", "status", "due_at"),
        CheckConstraint(f"status IN {RUN_STATES!r}", name="status"),
    )


class CampaignMember(Base):
    """A contact's randomised assignment in a campaign: treated or held out.

    `true_effect` and `baseline_probability` are known only for synthetic (demo) data: the
    change in purchase probability that treatment causes for this contact, and the probability
    without it. Models are checked against them.
    """

    __tablename__ = "campaign_members"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    group: Mapped[str] = mapped_column(String(16))
    variant: Mapped[str | None] = mapped_column(String(16))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    baseline_probability: Mapped[float | None] = mapped_column(Float)
    true_effect: Mapped[float | None] = mapped_column(Float)
    # The uplift score the targeting model gave the contact when assigned (uplift mode only).
    predicted_uplift: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index("ix_campaign_members_contact", "contact_id"),
        CheckConstraint(f'"group" IN {GROUPS!r}', name="group"),
    )
