"""Campaigns and their members (treatment or holdout), as far as the foundation needs them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base
from campaign_engine.models.types import IdType, Money, UTCDateTime, utcnow

GROUPS = ("treatment", "control")


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
    cost: Mapped[float] = mapped_column(Money, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    baseline_probability: Mapped[float | None] = mapped_column(Float)
    true_effect: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        Index("ix_campaign_members_contact", "contact_id"),
        CheckConstraint(f'"group" IN {GROUPS!r}', name="group"),
    )
