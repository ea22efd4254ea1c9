"""Attributed orders per report row: purchases, buyers, revenue, new customers, responses.

Orders come from `order_attributions` under one model (last touch by default). An order's
variant and channel are those of the message it is credited to; an order credited through its
campaign code alone (no message) has no variant and takes the campaign's channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, distinct, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from campaign_engine.models import Campaign, Delivery, Order, OrderAttribution
from campaign_engine.reporting.scope import Key, Scope, grouped
from campaign_engine.reporting.sql import utc_day

Credit = OrderAttribution


@dataclass(frozen=True)
class OrderCounts:
    """The attributed orders of one report row."""

    purchases: int = 0  # orders credited (at any weight)
    credit: float = 0.0  # the orders' summed weights: purchases under single-touch models
    buyers: int = 0  # distinct contacts with a credited order
    revenue: float = 0.0  # weighted revenue
    margin: float = 0.0  # weighted margin (revenue - cost of goods)
    new_customers: int = 0  # buyers whose credited order is their first order ever


def first_order(order_id: Any, contact_id: Any, ordered_at: Any) -> ColumnElement[bool]:
    """Return SQL true when the order is its contact's first (ties broken by order id)."""
    earlier = aliased(Order)
    return ~exists().where(
        earlier.contact_id == contact_id,
        or_(
            earlier.ordered_at < ordered_at,
            and_(earlier.ordered_at == ordered_at, earlier.id < order_id),
        ),
    )


def _credited(scope: Scope, columns: list[Any]) -> tuple[Select[Any], ColumnElement[Any] | None]:
    """Return a select over the scope's credited orders (with message and campaign) and its key."""
    stmt = (
        select(*columns)
        .select_from(Credit)
        .join(Campaign, Campaign.id == Credit.campaign_id)
        .outerjoin(Delivery, Delivery.id == Credit.delivery_id)
        .where(Credit.model == scope.model)
    )
    stmt = scope.filter(stmt, Credit.campaign_id, Credit.contact_id, Credit.ordered_at)
    key = scope.key(
        variant=Delivery.variant,
        channel=func.coalesce(Delivery.channel, Campaign.channel),
        campaign=Credit.campaign_id,
        day=utc_day(Credit.ordered_at),
    )
    return stmt, key


def order_counts(session: Session, scope: Scope) -> dict[Key, OrderCounts]:
    """Return attributed purchases, buyers, revenue, margin and new customers per key."""
    is_first = first_order(Credit.order_id, Credit.contact_id, Credit.ordered_at)
    stmt, key = _credited(
        scope,
        [
            func.count(),
            func.sum(Credit.weight),
            func.count(distinct(Credit.contact_id)),
            func.sum(Credit.revenue),
            func.sum(Credit.margin),
            func.count(distinct(case((is_first, Credit.contact_id)))),
        ],
    )
    return {
        k: OrderCounts(
            int(v[0] or 0),
            float(v[1] or 0),
            int(v[2] or 0),
            float(v[3] or 0),
            float(v[4] or 0),
            int(v[5] or 0),
        )
        for k, v in grouped(session, stmt, key, scope.group_by == "day").items()
    }


def responders(session: Session, scope: Scope) -> dict[Key, int]:
    """Return contacts who clicked (people, not machines) or bought, counted once per key."""
    clicks = select(Delivery.contact_id.label("contact_id")).where(
        Delivery.status == "accepted", Delivery.clicked_at.is_not(None)
    )
    moment = Delivery.clicked_at if scope.group_by == "day" else Delivery.sent_at
    clicks = scope.filter(clicks, Delivery.campaign_id, Delivery.contact_id, moment)
    click_key = scope.key(
        variant=Delivery.variant,
        channel=Delivery.channel,
        campaign=Delivery.campaign_id,
        day=utc_day(Delivery.clicked_at),
    )
    buys, buy_key = _credited(scope, [Credit.contact_id.label("contact_id")])
    if click_key is not None and buy_key is not None:
        clicks = clicks.add_columns(click_key.label("report_key"))
        buys = buys.add_columns(buy_key.label("report_key"))
    both = clicks.union_all(buys).subquery()
    stmt = select(func.count(distinct(both.c.contact_id)))
    key = both.c.report_key if click_key is not None else None
    rows = grouped(session, stmt.select_from(both), key, scope.group_by == "day")
    return {k: int(v[0] or 0) for k, v in rows.items()}
