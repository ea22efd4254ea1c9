"""Computed traits per contact: RFM, CLV, probability alive and churn risk."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base
from campaign_engine.models.types import UTCDateTime

RFM_GROUPS = (
    "champions",
    "loyal",
    "potential_loyalists",
    "new",
    "at_risk",
    "cant_lose",
    "hibernating",
    "lost",
)
CHURN_RISKS = ("low", "medium", "high")


class ContactTraits(Base):
    """Traits of one contact who has ordered, as of `as_of`; prospects have no row."""

    __tablename__ = "contact_traits"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    as_of: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_order_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_order_at: Mapped[datetime] = mapped_column(UTCDateTime)
    orders_total: Mapped[int] = mapped_column(Integer)
    revenue_total: Mapped[float] = mapped_column(Float)
    recency_days: Mapped[int] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer)
    monetary: Mapped[float] = mapped_column(Float)
    avg_order_value: Mapped[float] = mapped_column(Float)
    r_score: Mapped[int] = mapped_column(SmallInteger)
    f_score: Mapped[int] = mapped_column(SmallInteger)
    m_score: Mapped[int] = mapped_column(SmallInteger)
    rfm_cell: Mapped[str] = mapped_column(String(3), index=True)
    rfm_group: Mapped[str] = mapped_column(String(24), index=True)
    expected_purchases: Mapped[float | None] = mapped_column(Float)
    p_alive: Mapped[float | None] = mapped_column(Float)
    clv: Mapped[float | None] = mapped_column(Float, index=True)
    churn_risk: Mapped[str | None] = mapped_column(String(8))
