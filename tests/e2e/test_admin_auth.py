"""Signing in and out of the admin, CSRF, and what answers without a login."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from admin.security import SESSION_USER
from tests.e2e.conftest import csrf_token, sign_in


def test_right_password_signs_in_and_reaches_dashboard(
    client: FlaskClient, users: dict[str, str]
) -> None:
    response = sign_in(client, users["marketer"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    page = client.get("/admin/").get_data(as_text=True)
    assert "Dashboard" in page
    assert "marketer@example.com" in page


def test_wrong_password_is_refused(client: FlaskClient, users: dict[str, str]) -> None:
    response = sign_in(client, users["admin"], password="not the password")
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_unknown_email_is_refused_like_a_wrong_password(client: FlaskClient) -> None:
    response = sign_in(client, "nobody@example.com")
    assert response.status_code == 401
    assert "do not match an active account" in response.get_data(as_text=True)


def test_logout_ends_the_session(signed_in: FlaskClient) -> None:
    response = signed_in.post("/admin/logout", data={"csrf_token": csrf_token(signed_in)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login"
    assert signed_in.get("/admin/").status_code == 302


def test_logout_is_not_a_get(signed_in: FlaskClient) -> None:
    assert signed_in.get("/admin/logout").status_code == 405
    assert signed_in.get("/admin/").status_code == 200


def test_login_without_csrf_token_is_rejected(client: FlaskClient, users: dict[str, str]) -> None:
    client.get("/admin/login")
    response = client.post("/admin/login", data={"email": users["admin"], "password": "x" * 20})
    assert response.status_code == 400
    assert "not sent from this site" in response.get_data(as_text=True)


def test_post_with_a_forged_csrf_token_is_rejected(signed_in: FlaskClient) -> None:
    for forged in ("forged", "fälschung"):
        assert signed_in.post("/admin/logout", data={"csrf_token": forged}).status_code == 400
    assert signed_in.get("/admin/").status_code == 200


def test_csrf_token_is_accepted_from_a_header(signed_in: FlaskClient) -> None:
    headers = {"X-CSRF-Token": csrf_token(signed_in)}
    assert signed_in.post("/admin/logout", headers=headers).status_code == 302


def test_every_form_carries_the_csrf_token(signed_in: FlaskClient) -> None:
    token = csrf_token(signed_in)
    page = signed_in.get("/admin/contacts").get_data(as_text=True)
    assert f'name="csrf_token" value="{token}"' in page


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/contacts?q=ada", "/admin/settings", "/admin/nope"]
)
def test_anonymous_request_redirects_to_login_with_next(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/admin/login?next=")
    assert client.get(location).status_code == 200


def test_login_goes_on_to_a_safe_next(client: FlaskClient, users: dict[str, str]) -> None:
    response = sign_in(client, users["admin"], next_url="/admin/contacts?q=ada")
    assert response.headers["Location"] == "/admin/contacts?q=ada"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/admin/",
        "//evil.example/admin/",
        "/\\evil.example",
        "javascript:alert(1)",
        "admin/contacts",
        "/admin/\r\nSet-Cookie: x=1",
    ],
)
def test_login_ignores_an_offsite_next(
    client: FlaskClient, users: dict[str, str], next_url: str
) -> None:
    response = sign_in(client, users["admin"], next_url=next_url)
    assert response.headers["Location"] == "/admin/"


def test_login_starts_a_fresh_session(client: FlaskClient, users: dict[str, str]) -> None:
    before = csrf_token(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    sign_in(client, users["admin"])
    with client.session_transaction() as session:
        assert "planted" not in session
        assert isinstance(session[SESSION_USER], int)
    assert csrf_token(client) != before


def test_root_redirects_to_admin(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_health_login_and_static_answer_without_login(client: FlaskClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/admin/login").status_code == 200
    css = client.get("/admin/static/admin.css")
    assert css.status_code == 200
    assert css.mimetype == "text/css"
    css.close()
