"""Behavioural events: web visits and custom events, deduplicated by a stable key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base, JSONDoc
from campaign_engine.models.types import IdType, UTCDateTime, utcnow


class Event(Base):
    """Something a contact (or an anonymous visitor) did, at `occurred_at`."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(64), unique=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    anonymous_id: Mapped[str | None] = mapped_column(String(128), index=True)
    type: Mapped[str] = mapped_column(String(64))
    properties: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(32), default="custom")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_events_contact_type_occurred", "contact_id", "type", "occurred_at"),
        Index("ix_events_type_occurred", "type", "occurred_at"),
    )
