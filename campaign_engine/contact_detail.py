"""One contact's page for the admin UI: profile, consents, recent orders and events."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from campaign_engine.contact_search import full_name
from campaign_engine.errors import NotFound
from campaign_engine.models import (
    Consent,
    ConsentEvent,
    Contact,
    Event,
    Order,
    OrderLine,
    Product,
)

RECENT_ORDERS = 10
RECENT_EVENTS = 25
RECENT_CONSENT_CHANGES = 20


@dataclass(frozen=True)
class ContactProfile:
    """The stored fields of one contact."""

    id: int
    external_id: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    birth_date: date | None
    gender: str | None
    city: str | None
    region: str | None
    country: str | None
    postal_code: str | None
    time_zone: str | None
    locale: str | None
    household_income: int | None
    education_level: str | None
    lifecycle_stage: str
    source: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        """Return the full name, or an empty string."""
        return full_name(self.first_name, self.last_name)


@dataclass(frozen=True)
class ConsentState:
    """The current consent of a contact for one channel and purpose."""

    channel: str
    purpose: str
    state: str
    source: str | None
    updated_at: datetime


@dataclass(frozen=True)
class ConsentChange:
    """One recorded change of consent."""

    channel: str
    purpose: str
    state: str
    source: str | None
    occurred_at: datetime


@dataclass(frozen=True)
class OrderLineSummary:
    """One product on an order."""

    line_number: int
    product_name: str
    sku: str
    quantity: int
    unit_price: float

    @property
    def amount(self) -> float:
        """Return quantity times unit price."""
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class OrderSummary:
    """One order with its lines."""

    id: int
    external_id: str
    ordered_at: datetime
    currency: str
    revenue: float
    campaign_code: str | None
    channel: str | None
    lines: list[OrderLineSummary]


@dataclass(frozen=True)
class EventSummary:
    """One behavioural event."""

    id: int
    type: str
    occurred_at: datetime
    source: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class ContactDetail:
    """Everything the contact page shows."""

    profile: ContactProfile
    consents: list[ConsentState]
    consent_history: list[ConsentChange]
    order_count: int
    lifetime_revenue: float
    recent_orders: list[OrderSummary]
    recent_events: list[EventSummary]


def get_contact_detail(session: Session, contact_id: int) -> ContactDetail:
    """Return a contact's profile, consents, recent orders (with lines) and recent events."""
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"there is no contact with id {contact_id}")
    order_count, revenue = session.execute(
        select(func.count(Order.id), func.coalesce(func.sum(Order.revenue), 0)).where(
            Order.contact_id == contact_id
        )
    ).one()
    return ContactDetail(
        profile=_profile(contact),
        consents=_consents(session, contact_id),
        consent_history=_consent_history(session, contact_id),
        order_count=order_count,
        lifetime_revenue=float(revenue),
        recent_orders=_recent_orders(session, contact_id),
        recent_events=_recent_events(session, contact_id),
    )


def _profile(contact: Contact) -> ContactProfile:
    values = {field.name: getattr(contact, field.name) for field in fields(ContactProfile)}
    values["attributes"] = dict(contact.attributes or {})
    return ContactProfile(**values)


def _consents(session: Session, contact_id: int) -> list[ConsentState]:
    rows = session.execute(
        select(Consent.channel, Consent.purpose, Consent.state, Consent.source, Consent.updated_at)
        .where(Consent.contact_id == contact_id)
        .order_by(Consent.channel, Consent.purpose)
    )
    return [ConsentState(**row._asdict()) for row in rows]


def _consent_history(session: Session, contact_id: int) -> list[ConsentChange]:
    rows = session.execute(
        select(
            ConsentEvent.channel,
            ConsentEvent.purpose,
            ConsentEvent.state,
            ConsentEvent.source,
            ConsentEvent.occurred_at,
        )
        .where(ConsentEvent.contact_id == contact_id)
        .order_by(ConsentEvent.occurred_at.desc(), ConsentEvent.id.desc())
        .limit(RECENT_CONSENT_CHANGES)
    )
    return [ConsentChange(**row._asdict()) for row in rows]


def _recent_orders(session: Session, contact_id: int) -> list[OrderSummary]:
    orders = session.execute(
        select(
            Order.id,
            Order.external_id,
            Order.ordered_at,
            Order.currency,
            Order.revenue,
            Order.campaign_code,
            Order.channel,
        )
        .where(Order.contact_id == contact_id)
        .order_by(Order.ordered_at.desc(), Order.id.desc())
        .limit(RECENT_ORDERS)
    ).all()
    lines: dict[int, list[OrderLineSummary]] = {order.id: [] for order in orders}
    if lines:
        for row in session.execute(
            select(
                OrderLine.order_id,
                OrderLine.line_number,
                Product.name,
                Product.sku,
                OrderLine.quantity,
                OrderLine.unit_price,
            )
            .join(Product, Product.id == OrderLine.product_id)
            .where(OrderLine.order_id.in_(list(lines)))
            .order_by(OrderLine.order_id, OrderLine.line_number)
        ):
            lines[row.order_id].append(
                OrderLineSummary(
                    line_number=row.line_number,
                    product_name=row.name,
                    sku=row.sku,
                    quantity=row.quantity,
                    unit_price=row.unit_price,
                )
            )
    return [OrderSummary(**order._asdict(), lines=lines[order.id]) for order in orders]


def _recent_events(session: Session, contact_id: int) -> list[EventSummary]:
    rows = session.execute(
        select(Event.id, Event.type, Event.occurred_at, Event.source, Event.properties)
        .where(Event.contact_id == contact_id)
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(RECENT_EVENTS)
    )
    return [EventSummary(**row._asdict()) for row in rows]
