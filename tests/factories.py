"""Plain factory functions for test data."""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from campaign_engine.accounts import create_api_key, create_user
from campaign_engine.models import (
    ApiKey,
    Consent,
    ConsentEvent,
    Contact,
    Order,
    OrderLine,
    Product,
    UpliftModel,
    UpliftModelVersion,
    User,
)

_seq = itertools.count(1)
PASSWORD = "correct horse battery"


def make_contact(session: Session, **fields: Any) -> Contact:
    """Add a contact with sensible defaults; `fields` override them."""
    n = next(_seq)
    values: dict[str, Any] = {
        "external_id": f"C{n:06d}",
        "email": f"person{n}@example.com",
        "first_name": "Pat",
        "last_name": f"Person{n}",
        "time_zone": "Europe/London",
    }
    values.update(fields)
    contact = Contact(**values)
    session.add(contact)
    session.flush()
    return contact


def make_user(session: Session, role: str = "admin", email: str | None = None) -> User:
    """Add a user whose password is `PASSWORD`."""
    return create_user(session, email or f"user{next(_seq)}@example.com", PASSWORD, role)


def make_api_key(session: Session, *scopes: str) -> tuple[ApiKey, str]:
    """Add an API key with `scopes` (default: ingest); return it and its token."""
    return create_api_key(session, f"key {next(_seq)}", list(scopes or ("ingest",)))


def make_product(session: Session, sku: str, name: str, price: float, **fields: Any) -> Product:
    """Add a product (category 'misc' unless given)."""
    product = Product(sku=sku, name=name, price=price, **({"category": "misc"} | fields))
    session.add(product)
    session.flush()
    return product


def make_order(
    session: Session,
    contact_id: int,
    ordered_at: datetime,
    lines: list[tuple[Product, int]],
    external_id: str | None = None,
    **fields: Any,
) -> Order:
    """Add an order of (product, quantity) lines at catalogue prices; totals follow the lines."""
    order = Order(
        external_id=external_id or f"O{next(_seq):06d}",
        contact_id=contact_id,
        ordered_at=ordered_at,
        revenue=sum(p.price * q for p, q in lines),
        cost=sum((p.unit_cost or 0) * q for p, q in lines),
        **fields,
    )
    session.add(order)
    session.flush()
    session.add_all(
        OrderLine(
            order_id=order.id,
            line_number=n,
            product_id=product.id,
            quantity=quantity,
            unit_price=product.price,
            unit_cost=product.unit_cost or 0,
        )
        for n, (product, quantity) in enumerate(lines, start=1)
    )
    return order


def make_consent(
    session: Session, contact_id: int, channel: str, *history: tuple[str, datetime, str | None]
) -> Consent:
    """Record marketing-consent statements (state, time, source); the last is the current state."""
    for state, at, source in history:
        session.add(
            ConsentEvent(
                contact_id=contact_id,
                channel=channel,
                purpose="marketing",
                state=state,
                source=source,
                occurred_at=at,
            )
        )
    state, at, source = history[-1]
    consent = Consent(
        contact_id=contact_id,
        channel=channel,
        purpose="marketing",
        state=state,
        source=source,
        updated_at=at,
    )
    session.add(consent)
    return consent


def make_uplift_model(
    session: Session, name: str = "offer", promoted: bool = True, **fields: Any
) -> tuple[int, int]:
    """Add an uplift model with one version (promoted or a candidate); return their ids.

    The version's artifact is a placeholder: targeting, segments and journeys read stored
    scores only, never the model.
    """
    model = UpliftModel(name=name, training={"campaigns": [1]}, **fields)
    session.add(model)
    session.flush()
    artifact = b"placeholder: no fitted model"
    version = UpliftModelVersion(
        model_id=model.id,
        version=1,
        status="promoted" if promoted else "candidate",
        learner="t",
        outcome="conversion",
        n_rows=0,
        artifact=artifact,
        artifact_sha256=hashlib.sha256(artifact).hexdigest(),
        promoted_at=datetime(2026, 6, 10, 12, 0, tzinfo=UTC) if promoted else None,
    )
    session.add(version)
    session.flush()
    return model.id, version.id
