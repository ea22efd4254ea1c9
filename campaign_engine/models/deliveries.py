"""The delivery ledger, the contact-policy decisions behind it, and message templates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base
from campaign_engine.models.types import IdType, Money, UTCDateTime, utcnow

DELIVERY_STATES = ("queued", "sending", "accepted", "failed", "cancelled")
TEMPLATE_KINDS = ("message", "layout", "partial")
PURPOSES = ("marketing", "transactional")


class MessageTemplate(Base):
    """A marketer's message (subject, HTML, text) for one channel, or a layout or partial."""

    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="message")
    channel: Mapped[str] = mapped_column(String(16), default="email")
    purpose: Mapped[str] = mapped_column(String(16), default="marketing")
    description: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint(f"kind IN {TEMPLATE_KINDS!r}", name="kind"),
        CheckConstraint(f"purpose IN {PURPOSES!r}", name="purpose"),
    )


class Delivery(Base):
    """One message to one contact on one channel: the unit that is sent exactly once.

    `key` is the idempotency key (campaign, run, contact, channel, variant) under a unique
    constraint. `not_before` holds back a quiet-hours deferral or a retry's backoff.
    """

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    variant: Mapped[str] = mapped_column(String(16))
    template_id: Mapped[int] = mapped_column(ForeignKey("message_templates.id"))
    purpose: Mapped[str] = mapped_column(String(16), default="marketing")
    address: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    deferred_reason: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[float] = mapped_column(Money, default=0)
    # The first time each response was seen (human opens and clicks only), kept from events.
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    complained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_deliveries_campaign_contact", "campaign_id", "contact_id"),
        Index("ix_deliveries_run_status_id", "run_id", "status", "id"),
        Index("ix_deliveries_contact_planned", "contact_id", "planned_at"),
        CheckConstraint(f"status IN {DELIVERY_STATES!r}", name="status"),
    )


class PolicyDecision(Base):
    """Why a contact was not sent a campaign's message (or was held out, or deferred)."""

    __tablename__ = "policy_decisions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_policy_decisions_run_reason", "run_id", "reason"),
        Index("ix_policy_decisions_contact", "contact_id", "campaign_id"),
    )


class PolicyLock(Base):
    """A row to lock: contact-policy batches take it so concurrent campaigns see each other."""

    __tablename__ = "policy_locks"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    taken: Mapped[int] = mapped_column(Integer, default=0)
