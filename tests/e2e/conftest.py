"""Admin fixtures: a user per role, a signed-in client, a contact with consents, orders, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from admin.security import SESSION_CSRF
from campaign_engine.db import transaction
from campaign_engine.models import (
    ROLES,
    Consent,
    ConsentEvent,
    Event,
    Order,
    OrderLine,
    Product,
)
from campaign_engine.runtime import Runtime
from tests.factories import PASSWORD, make_contact, make_user

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)


def csrf_token(client: FlaskClient) -> str:
    """Return the CSRF token of the client's session, opening the login page to get one."""
    with client.session_transaction() as session:
        token = session.get(SESSION_CSRF)
    if token is None:
        client.get("/admin/login")
        with client.session_transaction() as session:
            token = session[SESSION_CSRF]
    assert isinstance(token, str)
    return token


def sign_in(
    client: FlaskClient, email: str, password: str = PASSWORD, next_url: str | None = None
) -> TestResponse:
    """Post the login form the way a browser would, CSRF token included."""
    data = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/admin/login", data=data)


@pytest.fixture
def users(runtime: Runtime) -> dict[str, str]:
    """Create one user per role; return their emails by role."""
    with transaction(runtime.sessions) as session:
        return {role: make_user(session, role, email=f"{role}@example.com").email for role in ROLES}


@pytest.fixture
def signed_in(client: FlaskClient, users: dict[str, str]) -> FlaskClient:
    """Return the client signed in as the admin user."""
    assert sign_in(client, users["admin"]).status_code == 302
    return client


@pytest.fixture
def shopper_id(runtime: Runtime) -> int:
    """Create Ada Lovelace with consents, a consent change, two orders and two events."""
    with transaction(runtime.sessions) as session:
        contact = make_contact(
            session,
            external_id="ADA-1815",
            email="ada.lovelace@example.com",
            first_name="Ada",
            last_name="Lovelace",
            phone="+441234567890",
            city="London",
            country="GB",
            attributes={"favourite_colour": "teal", "loyalty_points": 42},
        )
        lamp = Product(sku="LAMP-1", name="Brass Desk Lamp", category="home", price=49.5)
        ink = Product(sku="INK-9", name="Indigo Ink", category="office", price=7.25)
        session.add_all([lamp, ink])
        session.flush()
        session.add_all(
            [
                Consent(
                    contact_id=contact.id,
                    channel="email",
                    purpose="marketing",
                    state="opted_in",
                    source="signup",
                    updated_at=T0,
                ),
                Consent(
                    contact_id=contact.id,
                    channel="sms",
                    purpose="marketing",
                    state="opted_out",
                    source="reply-stop",
                    updated_at=T0,
                ),
                ConsentEvent(
                    contact_id=contact.id,
                    channel="sms",
                    purpose="marketing",
                    state="opted_in",
                    source="signup",
                    occurred_at=T0 - timedelta(days=9),
                ),
                ConsentEvent(
                    contact_id=contact.id,
                    channel="sms",
                    purpose="marketing",
                    state="opted_out",
                    source="reply-stop",
                    occurred_at=T0,
                ),
            ]
        )
        first = Order(
            external_id="ORD-100",
            contact_id=contact.id,
            ordered_at=T0,
            revenue=106.25,
            cost=60,
            campaign_code="SPRING24",
        )
        second = Order(
            external_id="ORD-101",
            contact_id=contact.id,
            ordered_at=T0 + timedelta(days=3),
            revenue=7.25,
            cost=3,
        )
        session.add_all([first, second])
        session.flush()
        session.add_all(
            [
                OrderLine(
                    order_id=first.id,
                    line_number=1,
                    product_id=lamp.id,
                    quantity=2,
                    unit_price=49.5,
                    unit_cost=25,
                ),
                OrderLine(
                    order_id=first.id,
                    line_number=2,
                    product_id=ink.id,
                    quantity=1,
                    unit_price=7.25,
                    unit_cost=3,
                ),
                OrderLine(
                    order_id=second.id,
                    line_number=1,
                    product_id=ink.id,
                    quantity=1,
                    unit_price=7.25,
                    unit_cost=3,
                ),
                Event(
                    dedupe_key="ev-1",
                    contact_id=contact.id,
                    type="page_view",
                    properties={"path": "/lamps"},
                    occurred_at=T0 - timedelta(hours=1),
                ),
                Event(
                    dedupe_key="ev-2",
                    contact_id=contact.id,
                    type="wishlist_add",
                    properties={"sku": "LAMP-1"},
                    occurred_at=T0 - timedelta(minutes=5),
                ),
            ]
        )
        return contact.id
