"""Tracking: message events (opens, clicks, provider events), daily roll-ups, order attribution."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base
from campaign_engine.models.types import IdType, Money, UTCDateTime, utcnow

# What can happen to a sent message. Provider words map onto these (docs/tracking.md).
EVENT_KINDS = (
    "delivered",
    "bounce",
    "dropped",
    "deferred",
    "spam_report",
    "open",
    "click",
    "unsubscribe",
    "failed",
)
ATTRIBUTION_MODELS = ("last_touch", "first_touch", "linear")
TOUCHES = ("code", "click", "open", "delivery")


class TrackingEvent(Base):
    """One thing that happened to one delivery: a raw event, kept until it is rolled up.

    `dedupe_key` is the provider's event id (or our own for replayable sources): a replayed
    webhook finds it taken and changes nothing. `machine` marks opens and clicks made by
    privacy proxies and link scanners, which engagement metrics leave out by default.
    """

    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    variant: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    machine: Mapped[bool] = mapped_column(Boolean, default=False)
    machine_reason: Mapped[str | None] = mapped_column(String(32))
    url: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_tracking_events_campaign_kind_occurred", "campaign_id", "kind", "occurred_at"),
        Index("ix_tracking_events_contact_kind_occurred", "contact_id", "kind", "occurred_at"),
        Index("ix_tracking_events_delivery", "delivery_id"),
        Index("ix_tracking_events_occurred", "occurred_at"),
        CheckConstraint(f"kind IN {EVENT_KINDS!r}", name="kind"),
    )


class TrackingDaily(Base):
    """Event counts per day, campaign, variant, channel and kind, once raw events are rolled up."""

    __tablename__ = "tracking_daily"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    variant: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    machine: Mapped[bool] = mapped_column(Boolean, default=False)
    events: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        UniqueConstraint("campaign_id", "day", "variant", "channel", "kind", "machine"),
        CheckConstraint(f"kind IN {EVENT_KINDS!r}", name="kind"),
    )


class OrderAttribution(Base):
    """The share of one order credited to one campaign under one attribution model.

    Last and first touch give an order at most one row; linear spreads it over every touch,
    with weights summing to one. `revenue` and `margin` are already weighted.
    """

    __tablename__ = "order_attributions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    model: Mapped[str] = mapped_column(String(16))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    touch: Mapped[str] = mapped_column(String(16))
    touched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    weight: Mapped[float] = mapped_column(Float)
    revenue: Mapped[float] = mapped_column(Money)
    margin: Mapped[float] = mapped_column(Money)

    __table_args__ = (
        UniqueConstraint("order_id", "model", "campaign_id"),
        Index("ix_order_attributions_campaign_model", "campaign_id", "model", "ordered_at"),
        CheckConstraint(f"model IN {ATTRIBUTION_MODELS!r}", name="model"),
        CheckConstraint(f"touch IN {TOUCHES!r}", name="touch"),
    )


class TrackingCursor(Base):
    """How far a background job (attribution, roll-up) has walked a table, by name."""

    __tablename__ = "tracking_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(IdType, default=0)
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
