"""Versioned association-rule sets: their rules, item frequencies, and which set is active."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from campaign_engine.db import Base, JSONDoc
from campaign_engine.models.types import IdType, UTCDateTime, utcnow

RULE_LEVELS = ("product", "category")
BASKET_UNITS = ("order", "customer")


class RuleSet(Base):
    """One mining run: its window and thresholds, and how many baskets and rules it found.

    The id is the version. At most one set is `active` (a partial unique index): the
    storefront and the message templates read only that one.
    """

    __tablename__ = "rule_sets"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    per: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # min_support (a fraction, or an int count), min_confidence, min_lift, max_len, max_rules.
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    baskets: Mapped[int] = mapped_column(Integer, default=0)
    product_rules: Mapped[int] = mapped_column(Integer, default=0)
    category_rules: Mapped[int] = mapped_column(Integer, default=0)
    mined_seconds: Mapped[float] = mapped_column(Float, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index(
            "uq_rule_sets_one_active",
            "active",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
        CheckConstraint(f"per IN {BASKET_UNITS!r}", name="per"),
    )


class AssociationRule(Base):
    """antecedents → consequents within one rule set, at product or category level.

    Items are product ids (product level) or category names (category level). `items` holds
    every item as `|a|b|c|`, so a rule explorer can find a product's rules with LIKE.
    `conviction` is None where it is infinite (confidence 1).
    """

    __tablename__ = "association_rules"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("rule_sets.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    antecedents: Mapped[list[Any]] = mapped_column(JSONDoc)
    consequents: Mapped[list[Any]] = mapped_column(JSONDoc)
    items: Mapped[str] = mapped_column(String(2000))
    support: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    lift: Mapped[float] = mapped_column(Float)
    leverage: Mapped[float] = mapped_column(Float)
    conviction: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (
        Index("ix_association_rules_set_level_lift", "rule_set_id", "level", "lift"),
        CheckConstraint(f"level IN {RULE_LEVELS!r}", name="level"),
    )


class RuleSetItem(Base):
    """How many baskets of a rule set held one product or category: popularity and base rates."""

    __tablename__ = "rule_set_items"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("rule_sets.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[int | None] = mapped_column(IdType)
    category: Mapped[str | None] = mapped_column(String(100))
    baskets: Mapped[int] = mapped_column(Integer)
    support: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_rule_set_items_set_level", "rule_set_id", "level"),
        CheckConstraint(f"level IN {RULE_LEVELS!r}", name="level"),
    )
