"""A campaign's customer figures: new-customer retention, customer retention, leads by product."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, distinct, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from campaign_engine.models import CampaignMember, Order, OrderAttribution, OrderLine, Product
from campaign_engine.reporting.commerce import first_order
from campaign_engine.reporting.rows import ReportRow
from campaign_engine.reporting.sql import seconds_between
from campaign_engine.reporting.stats import ratio

Credit = OrderAttribution


@dataclass(frozen=True)
class Retention(ReportRow):
    """Of `base` contacts, how many bought again within the window, and the share."""

    base: int
    retained: int
    rate: float | None
    days: int


@dataclass(frozen=True)
class ProductLeads(ReportRow):
    """Contacts who bought a product for the first time in an order credited to the campaign."""

    product_id: int
    sku: str
    name: str
    category: str
    leads: int


def new_customer_retention(
    session: Session, campaign_id: int, model: str, days: int = 90
) -> Retention:
    """Return the share of the campaign's new customers who ordered again within `days`.

    A new customer is a buyer whose credited order is their first order ever; they are
    retained when another order of theirs follows it within `days` of it.
    """
    later = aliased(Order)
    again = exists().where(
        later.contact_id == Credit.contact_id,
        or_(
            later.ordered_at > Credit.ordered_at,
            and_(later.ordered_at == Credit.ordered_at, later.id > Credit.order_id),
        ),
        seconds_between(Credit.ordered_at, later.ordered_at) <= days * 86400,
    )
    base, retained = session.execute(
        select(
            func.count(distinct(Credit.contact_id)),
            func.count(distinct(Credit.contact_id)).filter(again),
        ).where(
            Credit.campaign_id == campaign_id,
            Credit.model == model,
            first_order(Credit.order_id, Credit.contact_id, Credit.ordered_at),
        )
    ).one()
    return Retention(int(base), int(retained), ratio(retained, base), days)


def customer_retention(
    session: Session, campaign_id: int, start: datetime | None, days: int
) -> Retention:
    """Return the share of treated members, customers before the send, who bought again.

    "Again" means an order in [start, start + days): the campaign's outcome window.
    """
    if start is None:
        return Retention(0, 0, None, days)
    end = start + timedelta(days=days)
    before = exists().where(Order.contact_id == CampaignMember.contact_id, Order.ordered_at < start)
    within = exists().where(
        Order.contact_id == CampaignMember.contact_id,
        Order.ordered_at >= start,
        Order.ordered_at < end,
    )
    base, retained = session.execute(
        select(func.count(), func.count().filter(within)).where(
            CampaignMember.campaign_id == campaign_id,
            CampaignMember.group == "treatment",
            before,
        )
    ).one()
    return Retention(int(base), int(retained), ratio(retained, base), days)


def new_leads_by_product(session: Session, campaign_id: int, model: str) -> list[ProductLeads]:
    """Return, per product, contacts whose credited order holds it and who never bought it before.

    Most leads first, then by SKU.
    """
    earlier_line = aliased(OrderLine)
    earlier = aliased(Order)
    bought_before = exists().where(
        earlier_line.order_id == earlier.id,
        earlier_line.product_id == OrderLine.product_id,
        earlier.contact_id == Credit.contact_id,
        or_(
            earlier.ordered_at < Credit.ordered_at,
            and_(earlier.ordered_at == Credit.ordered_at, earlier.id < Credit.order_id),
        ),
    )
    leads = func.count(distinct(Credit.contact_id))
    rows = session.execute(
        select(Product.id, Product.sku, Product.name, Product.category, leads)
        .select_from(Credit)
        .join(OrderLine, OrderLine.order_id == Credit.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(Credit.campaign_id == campaign_id, Credit.model == model, ~bought_before)
        .group_by(Product.id, Product.sku, Product.name, Product.category)
        .order_by(leads.desc(), Product.sku)
    )
    return [ProductLeads(int(i), sku, name, category, int(n)) for i, sku, name, category, n in rows]
