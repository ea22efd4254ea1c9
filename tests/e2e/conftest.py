"""Admin fixtures: a user per role, a signed-in client, a contact with consents, orders, events."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from admin.security import SESSION_CSRF
from campaign_engine.db import transaction
from campaign_engine.models import (
    ROLES,
    Consent,
    Event,
)
from campaign_engine.runtime import Runtime
from tests.conftest import require_service
from tests.factories import (
    PASSWORD,
    make_consent,
    make_contact,
    make_order,
    make_product,
    make_user,
)

T0 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    """A headless Debian Chromium driven by Playwright (a failure in CI when it is missing)."""
    if not CHROMIUM.exists():
        require_service("Chromium", FileNotFoundError(str(CHROMIUM)))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """Serve `app` on a free loopback port in a thread; stop it afterwards."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


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
        lamp = make_product(
            session, "LAMP-1", "Brass Desk Lamp", 49.5, category="home", unit_cost=25
        )
        ink = make_product(session, "INK-9", "Indigo Ink", 7.25, category="office", unit_cost=3)
        session.add(
            Consent(
                contact_id=contact.id,
                channel="email",
                purpose="marketing",
                state="opted_in",
                source="signup",
                updated_at=T0,
            )
        )
        make_consent(
            session,
            contact.id,
            "sms",
            ("opted_in", T0 - timedelta(days=9), "signup"),
            ("opted_out", T0, "reply-stop"),
        )
        make_order(
            session, contact.id, T0, [(lamp, 2), (ink, 1)], "ORD-100", campaign_code="SPRING24"
        )
        make_order(session, contact.id, T0 + timedelta(days=3), [(ink, 1)], "ORD-101")
        session.add_all(
            [
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
