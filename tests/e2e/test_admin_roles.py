"""Role checks: every admin page states who may see it, and others are turned away."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from admin.sections import SECTIONS
from admin.security import PUBLIC_ENDPOINTS, allowed_roles
from tests.e2e.conftest import sign_in


def test_analyst_is_denied_the_settings_page(client: FlaskClient, users: dict[str, str]) -> None:
    sign_in(client, users["analyst"])
    response = client.get("/admin/settings")
    assert response.status_code == 403
    assert "Your role (analyst) may not open this page." in response.get_data(as_text=True)
    assert ">Settings<" not in client.get("/admin/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("admin", "/admin/settings", 200),
        ("marketer", "/admin/settings", 403),
        ("analyst", "/admin/models", 200),
        ("marketer", "/admin/models", 200),
        ("marketer", "/admin/journeys", 200),
        ("analyst", "/admin/journeys", 403),
        ("analyst", "/admin/templates", 403),
        ("analyst", "/admin/contacts", 200),
        ("marketer", "/admin/reports", 200),
    ],
)
def test_role_table_decides_who_sees_a_page(
    client: FlaskClient, users: dict[str, str], role: str, path: str, status: int
) -> None:
    sign_in(client, users[role])
    assert client.get(path).status_code == status


def test_navigation_lists_only_what_the_role_may_open(
    client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["marketer"])
    page = client.get("/admin/").get_data(as_text=True)
    for label in (
        "Contacts",
        "Segments",
        "Campaigns",
        "Journeys",
        "Templates",
        "Reports",
        "Models",
    ):
        assert f">{label}</a>" in page
    assert ">Settings</a>" not in page


def test_every_admin_endpoint_declares_its_roles(app: Flask) -> None:
    admin_endpoints = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")
    }
    assert admin_endpoints - PUBLIC_ENDPOINTS
    for endpoint in admin_endpoints - PUBLIC_ENDPOINTS:
        assert allowed_roles(app.view_functions[endpoint]), endpoint


@pytest.mark.parametrize("section", [s for s in SECTIONS if not s.ready], ids=lambda s: s.endpoint)
def test_unbuilt_sections_say_they_are_not_available(
    signed_in: FlaskClient, section: object
) -> None:
    page = signed_in.get(f"/admin/{section.endpoint}").get_data(as_text=True)  # type: ignore[attr-defined]
    assert f"{section.label} is not available yet." in page  # type: ignore[attr-defined]
