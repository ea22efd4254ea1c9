"""Order attribution: credit each order to the marketing campaigns that touched its buyer."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from campaign_engine.bulk import key_in, write_rows
from campaign_engine.db import transaction
from campaign_engine.models import Campaign, Delivery, Order, OrderAttribution, TrackingCursor
from campaign_engine.tracking.attribution_models import (
    Credit,
    Sent,
    Touch,
    Windows,
    credit_code,
    credit_touches,
    latest_moment,
    split_money,
    touches_of,
)

CHUNK = 5_000  # orders per set of queries
CURSOR = "attribution"  # the last order id attributed as new
RECHECK_CURSOR = "attribution-recheck"  # where the walk over recent orders has got to
RECHECK = timedelta(days=2)  # late webhooks can still add touches to orders this recent
WRITTEN = ("delivery_id", "contact_id", "touch", "touched_at", "ordered_at", "weight")
UPDATED = (*WRITTEN, "revenue", "margin")


@dataclass
class AttributionResult:
    """What a call attributed: orders read, orders credited to any campaign, rows written."""

    orders: int = 0
    attributed: int = 0
    rows: int = 0
    last_touch: Counter[str] = field(default_factory=Counter)  # credited orders by touch kind

    def add(self, other: AttributionResult) -> None:
        """Add another result's counts to this one."""
        self.orders += other.orders
        self.attributed += other.attributed
        self.rows += other.rows
        self.last_touch.update(other.last_touch)


@dataclass(frozen=True)
class _Order:
    id: int
    contact_id: int
    ordered_at: datetime
    revenue: float
    cost: float
    campaign_code: str | None


def attribute_orders(session: Session, order_ids: Sequence[int]) -> AttributionResult:
    """Recompute the attribution rows of these orders from scratch (running twice changes nothing).

    An order whose `campaign_code` names a marketing campaign is that campaign's, under every
    model. Otherwise the buyer's marketing messages sent before the order touch it: a click
    within the campaign's click window, an open within its open window, a delivery within its
    delivery window (docs/attribution.md).
    """
    ids = sorted(set(order_ids))
    result = AttributionResult()
    for start in range(0, len(ids), CHUNK):
        result.add(_attribute_chunk(session, ids[start : start + CHUNK]))
    return result


def attribute_new_orders(session: Session, now: datetime, limit: int = CHUNK) -> int:
    """Attribute up to `limit` orders past the saved cursor; return how many.

    Once caught up (fewer than `limit` new orders), it also re-attributes up to `limit` orders
    placed within `RECHECK` of `now`, walking them in a circle from a second cursor, so touches
    that late webhooks record still reach recent orders at a bounded cost per call.
    """
    cursor = _cursor(session, CURSOR)
    ids = list(
        session.scalars(
            select(Order.id).where(Order.id > cursor.position).order_by(Order.id).limit(limit)
        )
    )
    if ids:
        attribute_orders(session, ids)
        cursor.position = ids[-1]
    cursor.moved_at = now
    if len(ids) < limit:
        _recheck_recent(session, now, limit, cursor.position)
    session.flush()
    return len(ids)


def reattribute_orders_after(
    session: Session, after: int, limit: int = CHUNK
) -> tuple[int | None, AttributionResult]:
    """Recompute the next `limit` orders with ids above `after`; return the last id and result.

    The last id is None when no order is left. The new-order cursor moves past what this did.
    """
    ids = list(
        session.scalars(select(Order.id).where(Order.id > after).order_by(Order.id).limit(limit))
    )
    if not ids:
        return None, AttributionResult()
    result = attribute_orders(session, ids)
    cursor = _cursor(session, CURSOR)
    cursor.position = max(cursor.position, ids[-1])
    session.flush()
    return ids[-1], result


def _recheck_recent(session: Session, now: datetime, limit: int, through: int) -> None:
    cursor = _cursor(session, RECHECK_CURSOR)
    ids = list(
        session.scalars(
            select(Order.id)
            .where(Order.ordered_at >= now - RECHECK, Order.id > cursor.position)
            .where(Order.id <= through)
            .order_by(Order.id)
            .limit(limit)
        )
    )
    attribute_orders(session, ids)
    cursor.position = ids[-1] if len(ids) == limit else 0  # short: start over next time
    cursor.moved_at = now


def _cursor(session: Session, name: str) -> TrackingCursor:
    """Return the named cursor, created at 0 when missing, locked until the transaction ends."""
    query = select(TrackingCursor).where(TrackingCursor.name == name).with_for_update()
    cursor = session.scalar(query)
    if cursor is None:
        try:
            with session.begin_nested():  # another process may create it at the same moment
                session.execute(insert(TrackingCursor).values(name=name, position=0))
        except IntegrityError:
            pass
        cursor = session.scalar(query)
    assert cursor is not None
    return cursor


def _attribute_chunk(session: Session, ids: list[int]) -> AttributionResult:
    orders = [
        _Order(*row)
        for row in session.execute(
            select(
                Order.id,
                Order.contact_id,
                Order.ordered_at,
                Order.revenue,
                Order.cost,
                Order.campaign_code,
            ).where(key_in(session, Order.id, ids))
        )
    ]
    coded = _coded_campaigns(session, {o.campaign_code for o in orders if o.campaign_code})
    sent = _sent_messages(session, orders, set(coded.values()))
    rows: list[dict[str, Any]] = []
    result = AttributionResult(orders=len(orders))
    for order in orders:
        credits = _credits(order, coded, sent[order.contact_id])
        if credits:
            result.attributed += 1
            result.last_touch[credits[0].touch.kind] += 1
        rows.extend(_rows(order, credits))
    session.execute(delete(OrderAttribution).where(key_in(session, OrderAttribution.order_id, ids)))
    write_rows(
        session,
        OrderAttribution,
        rows,
        conflict=["order_id", "model", "campaign_id"],
        update=UPDATED,
        all_new=True,
    )
    result.rows = len(rows)
    return result


def _coded_campaigns(session: Session, codes: set[str]) -> dict[str, int]:
    """Return the marketing campaigns the codes name, by lower-cased code."""
    if not codes:
        return {}
    lowered = sorted({code.lower() for code in codes})
    rows = session.execute(
        select(func.lower(Campaign.code), Campaign.id)
        .where(Campaign.purpose == "marketing")
        .where(func.lower(Campaign.code).in_(lowered))
    )
    return {code: campaign_id for code, campaign_id in rows}


def _sent_messages(
    session: Session, orders: list[_Order], coded: set[int]
) -> dict[int, list[tuple[Sent, Windows]]]:
    """Return, by contact, the sent marketing messages that may touch these orders."""
    found: dict[int, list[tuple[Sent, Windows]]] = defaultdict(list)
    widest = session.execute(
        select(
            func.max(Campaign.attribution_click_days),
            func.max(Campaign.attribution_open_days),
            func.max(Campaign.attribution_delivery_days),
        ).where(Campaign.purpose == "marketing")
    ).one()
    if not orders or widest[0] is None:
        return found
    since = min(o.ordered_at for o in orders) - timedelta(days=max(widest))
    until = max(o.ordered_at for o in orders)
    recent = [
        Delivery.clicked_at >= since,
        Delivery.opened_at >= since,
        Delivery.delivered_at >= since,
        Delivery.sent_at >= since,
    ]
    if coded:  # a code names its campaign whenever that campaign was sent
        recent.append(Delivery.campaign_id.in_(sorted(coded)))
    rows = session.execute(
        select(
            Delivery.contact_id,
            Delivery.id,
            Delivery.campaign_id,
            Delivery.sent_at,
            Delivery.delivered_at,
            Delivery.opened_at,
            Delivery.clicked_at,
            Delivery.bounced_at,
            Campaign.attribution_click_days,
            Campaign.attribution_open_days,
            Campaign.attribution_delivery_days,
        )
        .join(Campaign, Campaign.id == Delivery.campaign_id)
        .where(key_in(session, Delivery.contact_id, sorted({o.contact_id for o in orders})))
        .where(Delivery.purpose == "marketing", Campaign.purpose == "marketing")
        .where(Delivery.status == "accepted", Delivery.sent_at < until)
        .where(or_(*recent))
    )
    for contact_id, *message, click, open_, delivery in rows:
        found[contact_id].append((Sent(*message), Windows.of_days(click, open_, delivery)))
    return found


def _credits(
    order: _Order, coded: dict[str, int], sent: list[tuple[Sent, Windows]]
) -> list[Credit]:
    """Return the order's credits: its code's campaign, else its qualifying touches."""
    campaign_id = coded.get((order.campaign_code or "").lower())
    if campaign_id is not None:
        before = order.ordered_at
        earlier = [s for s, _ in sent if s.campaign_id == campaign_id and s.sent_at < before]
        latest = max(earlier, key=lambda s: (s.sent_at, s.delivery_id), default=None)
        return credit_code(
            Touch(
                "code",
                campaign_id,
                latest.delivery_id if latest else None,
                latest_moment(latest, order.ordered_at) if latest else None,
            )
        )
    touches = [t for s, windows in sent for t in touches_of(s, windows, order.ordered_at)]
    return credit_touches(touches)


def _rows(order: _Order, credits: list[Credit]) -> list[dict[str, Any]]:
    """Return the attribution rows of one order's credits, money split to the cent per model."""
    rows: list[dict[str, Any]] = []
    by_model: dict[str, list[Credit]] = defaultdict(list)
    for credit in credits:
        by_model[credit.model].append(credit)
    for model, shares in by_model.items():
        weights = [c.weight for c in shares]
        revenues = split_money(order.revenue, weights)
        margins = split_money(order.revenue - order.cost, weights)
        for credit, revenue, margin in zip(shares, revenues, margins, strict=True):
            rows.append(
                {
                    "order_id": order.id,
                    "model": model,
                    "campaign_id": credit.touch.campaign_id,
                    "delivery_id": credit.touch.delivery_id,
                    "contact_id": order.contact_id,
                    "touch": credit.touch.kind,
                    "touched_at": credit.touch.at,
                    "ordered_at": order.ordered_at,
                    "weight": credit.weight,
                    "revenue": revenue,
                    "margin": margin,
                }
            )
    return rows


def attribute_all_orders(sessions: sessionmaker[Session]) -> AttributionResult:
    """Recompute every order's attribution, one transaction per batch of `CHUNK` orders."""
    summary = AttributionResult()
    after: int | None = 0
    while after is not None:
        with transaction(sessions) as session:
            after, result = reattribute_orders_after(session, after)
        summary.add(result)
    return summary
