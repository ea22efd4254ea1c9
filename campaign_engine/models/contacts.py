"""Contacts, their consent per channel and purpose (with history), and suppressions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign_engine.db import Base, JSONDoc
from campaign_engine.models.types import IdType, UTCDateTime, utcnow

CONSENT_STATES = ("opted_in", "opted_out", "unknown")
CHANNELS = ("email", "sms", "social", "web")
SUPPRESSION_KINDS = ("email", "phone", "domain")


class Contact(Base):
    """A customer or prospect, keyed for ingest by `external_id`."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date, index=True)
    gender: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100), index=True)
    region: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))  # indexed with region, below
    postal_code: Mapped[str | None] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(16))
    household_income: Mapped[int | None] = mapped_column(Integer)
    education_level: Mapped[str | None] = mapped_column(String(32))
    lifecycle_stage: Mapped[str] = mapped_column(String(32), default="prospect", index=True)
    source: Mapped[str | None] = mapped_column(String(64))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    consents: Mapped[list[Consent]] = relationship(back_populates="contact", lazy="raise")

    __table_args__ = (Index("ix_contacts_region_country", "country", "region"),)


class Consent(Base):
    """The current consent state of one contact for one channel and purpose."""

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32), default="marketing")
    state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact] = relationship(back_populates="consents", lazy="raise")

    __table_args__ = (
        UniqueConstraint("contact_id", "channel", "purpose"),
        # With contact_id, "who is opted in to X" is answered from the index alone.
        Index(
            "ix_consents_channel_purpose_state_contact", "channel", "purpose", "state", "contact_id"
        ),
        CheckConstraint(f"state IN {CONSENT_STATES!r}", name="state"),
    )


class ConsentEvent(Base):
    """One recorded change of consent: the audit history behind `Consent`."""

    __tablename__ = "consent_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str | None] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("contact_id", "channel", "purpose", "occurred_at", "state"),
        CheckConstraint(f"state IN {CONSENT_STATES!r}", name="state"),
    )


class Suppression(Base):
    """An address or domain that must never be contacted, with the reason."""

    __tablename__ = "suppressions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))
    reason: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("kind", "value"),
        CheckConstraint(f"kind IN {SUPPRESSION_KINDS!r}", name="kind"),
    )
