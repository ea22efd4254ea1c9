"""Orders and order lines: revenue, cost, timestamps and an optional campaign code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign_engine.db import Base
from campaign_engine.models.types import IdType, Money, UTCDateTime, utcnow


class Order(Base):
    """A purchase by a contact; totals are the sums of its lines."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(128), unique=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    revenue: Mapped[float] = mapped_column(Money)
    cost: Mapped[float] = mapped_column(Money)
    campaign_code: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", lazy="raise", order_by="OrderLine.line_number"
    )

    __table_args__ = (
        Index("ix_orders_contact_ordered", "contact_id", "ordered_at"),
        # Most orders carry no campaign code: index only those that do.
        Index(
            "ix_orders_campaign_code",
            "campaign_code",
            postgresql_where=text("campaign_code IS NOT NULL"),
            sqlite_where=text("campaign_code IS NOT NULL"),
        ),
    )


class OrderLine(Base):
    """One product on an order: quantity, unit price and unit cost."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_number: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[float] = mapped_column(Money)
    unit_cost: Mapped[float] = mapped_column(Money)

    order: Mapped[Order] = relationship(back_populates="lines", lazy="raise")

    __table_args__ = (
        UniqueConstraint("order_id", "line_number"),
        # Covers "orders holding product X / category Y" without reading the lines themselves.
        Index("ix_order_lines_product_order", "product_id", "order_id"),
    )
