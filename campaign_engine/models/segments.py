"""Saved segments and target lists (frozen memberships used by campaigns)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base, JSONDoc
from campaign_engine.models.types import IdType, UTCDateTime, utcnow

LIST_KINDS = ("snapshot", "static")


class Segment(Base):
    """A named, versioned segment definition; evaluated on demand, never stored as members."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    definition: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_count: Mapped[int | None] = mapped_column(Integer)


class TargetList(Base):
    """A frozen list of contacts: a segment's members at `created_at`, or an uploaded list."""

    __tablename__ = "target_lists"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    # The definition as it was evaluated, so the list stays explainable after the segment changes.
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    sort_by: Mapped[str | None] = mapped_column(String(64))
    sort_descending: Mapped[bool] = mapped_column(Boolean, default=True)
    limit: Mapped[int | None] = mapped_column(Integer)
    dedupe_by: Mapped[str | None] = mapped_column(String(16))
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint(f"kind IN {LIST_KINDS!r}", name="kind"),)


class TargetListMember(Base):
    """One contact on a target list, at its position in the list's sort order."""

    __tablename__ = "target_list_members"

    list_id: Mapped[int] = mapped_column(
        ForeignKey("target_lists.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_target_list_members_list_position", "list_id", "position"),
        Index("ix_target_list_members_contact", "contact_id"),
    )
