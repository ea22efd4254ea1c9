"""Products in the catalogue, with category, tier and a link to the premium version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base, JSONDoc
from campaign_engine.models.types import IdType, Money, UTCDateTime, utcnow


class Product(Base):
    """A sellable product, keyed for ingest by `sku`."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100), index=True)
    price: Mapped[float] = mapped_column(Money)
    unit_cost: Mapped[float | None] = mapped_column(Money)
    tier: Mapped[str | None] = mapped_column(String(32))
    premium_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
