"""Template list, editor and preview: over HTTP and in headless Chromium."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Browser
from werkzeug.test import TestResponse

from tests.e2e.conftest import csrf_token, sign_in
from tests.factories import PASSWORD

GOOD_HTML = (
    "<p>Hello {{ contact.first_name }}</p>\n"
    "<p>{{ sender.postal_address }}</p>\n"
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
)
# Line 3 opens an `if` that is never closed.
BROKEN_HTML = "<p>Hello</p>\n<p>{{ sender.postal_address }}</p>\n{% if contact.first_name %}\n"


def signed_in_as(client: FlaskClient, users: dict[str, str], role: str) -> FlaskClient:
    assert sign_in(client, users[role]).status_code == 302
    return client


def form(**fields: str) -> dict[str, str]:
    values = {
        "name": "spring_note",
        "kind": "message",
        "channel": "email",
        "purpose": "marketing",
        "description": "A short spring note",
        "subject": "Spring, {{ contact.first_name }}",
        "html": GOOD_HTML,
        "text": "",
    }
    return values | fields


def save(client: FlaskClient, url: str = "/admin/templates/new", **fields: str) -> TestResponse:
    return client.post(url, data={"csrf_token": csrf_token(client), **form(**fields)})


def preview(
    client: FlaskClient, body: dict[str, Any], url: str = "/admin/templates/preview"
) -> Any:
    return client.post(url, json=body, headers={"X-CSRF-Token": csrf_token(client)})


def template_ids(client: FlaskClient) -> dict[str, int]:
    page = client.get("/admin/templates").get_data(as_text=True)
    rows = re.findall(r'data-template-id="(\d+)">\s*<td><a href="[^"]+">([^<]+)</a>', page)
    return {name: int(template_id) for template_id, name in rows}


# --- HTTP ------------------------------------------------------------------------------------


def test_installing_the_starters_lists_them_once(
    client: FlaskClient, users: dict[str, str]
) -> None:
    signed_in_as(client, users, "marketer")
    token = {"csrf_token": csrf_token(client)}
    response = client.post("/admin/templates/starters", data=token)
    assert response.status_code == 303
    page = client.get("/admin/templates").get_data(as_text=True)
    assert "Installed " in page and "welcome" in page
    assert {"welcome", "sms_offer", "base_email"} <= set(template_ids(client))
    client.post("/admin/templates/starters", data=token)
    assert "already installed" in client.get("/admin/templates").get_data(as_text=True)


def test_a_saved_template_opens_in_the_editor(client: FlaskClient, users: dict[str, str]) -> None:
    signed_in_as(client, users, "marketer")
    response = save(client)
    assert response.status_code == 303
    editor = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Template “spring_note” saved." in editor
    assert "Hello {{ contact.first_name }}" in editor
    template_id = template_ids(client)["spring_note"]
    renamed = save(client, f"/admin/templates/{template_id}", name="spring_note_2")
    assert renamed.status_code == 303
    assert set(template_ids(client)) == {"spring_note_2"}


def test_a_syntax_error_is_shown_with_its_part_and_line_and_nothing_is_saved(
    client: FlaskClient, users: dict[str, str]
) -> None:
    signed_in_as(client, users, "marketer")
    response = save(client, html=BROKEN_HTML)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Not saved:" in page
    assert "<code>html, line 4</code>" in page or "<code>html, line 3</code>" in page
    assert "Template syntax error" in page
    assert 'value="spring_note"' in page  # the form keeps what was typed
    assert template_ids(client) == {}


def test_preview_renders_as_the_sample_contact_or_a_chosen_one(
    client: FlaskClient, users: dict[str, str], shopper_id: int
) -> None:
    signed_in_as(client, users, "marketer")
    body = {k: v for k, v in form().items() if k not in ("name", "description")}
    sample = preview(client, body)
    assert sample.status_code == 200
    assert sample.get_json()["contact_id"] is None
    ada = preview(client, body | {"contact_id": str(shopper_id)}).get_json()
    assert ada["subject"] == "Spring, Ada"
    assert "Hello Ada" in ada["html"]
    broken = preview(client, body | {"html": BROKEN_HTML})
    assert broken.status_code == 422
    assert broken.get_json()["error"]["problems"][0]["location"].startswith("html, line")
    missing = preview(client, body | {"contact_id": "999999"})
    assert missing.status_code == 404


def test_a_saved_template_previews_as_a_contact(
    client: FlaskClient, users: dict[str, str], shopper_id: int
) -> None:
    signed_in_as(client, users, "marketer")
    save(client)
    url = f"/admin/templates/{template_ids(client)['spring_note']}/preview"
    shown = preview(client, {"contact_id": shopper_id}, url).get_json()
    assert (shown["name"], shown["subject"]) == ("spring_note", "Spring, Ada")
    assert preview(client, {"contact_id": "ada"}, url).status_code == 422


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/admin/templates"),
        ("get", "/admin/templates/new"),
        ("post", "/admin/templates/new"),
        ("post", "/admin/templates/starters"),
        ("post", "/admin/templates/preview"),
    ],
)
def test_an_analyst_cannot_open_or_change_templates(
    client: FlaskClient, users: dict[str, str], method: str, path: str
) -> None:
    signed_in_as(client, users, "analyst")
    if method == "get":
        response = client.get(path)
    else:
        response = client.post(path, data={"csrf_token": csrf_token(client)})
    assert response.status_code == 403


# --- browser ---------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_marketer_sees_a_syntax_error_by_line_then_saves_the_fix(
    browser: Browser, live_url: str, users: dict[str, str], shopper_id: int
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{live_url}/admin/templates")
    page.get_by_label("Email").fill(users["marketer"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Install starter templates").click()
    expect(page.locator("#templates")).to_contain_text("welcome")
    page.get_by_role("link", name="New template").click()

    page.get_by_label("Name", exact=True).fill("spring_note")
    page.get_by_label("Subject").fill("Spring, {{ contact.first_name }}")
    page.get_by_role("textbox", name="HTML (email body, layouts and partials)").fill(BROKEN_HTML)
    expect(page.locator("#preview-problems")).to_contain_text("html, line")
    page.get_by_role("button", name="Save template").click()

    problems = page.locator("#save-problems")
    expect(problems).to_contain_text("Template syntax error")
    expect(problems.locator("code").first).to_have_text(re.compile(r"^html, line \d+$"))
    expect(page.get_by_label("Name", exact=True)).to_have_value("spring_note")

    page.get_by_role("textbox", name="HTML (email body, layouts and partials)").fill(GOOD_HTML)
    page.get_by_label("Preview as contact id").fill(str(shopper_id))
    page.get_by_label("Preview as contact id").dispatch_event("change")
    expect(page.locator("#preview-subject")).to_have_text("Spring, Ada")
    frame = page.frame_locator("#preview-html")
    expect(frame.locator("body")).to_contain_text("Hello Ada")
    assert page.locator("#preview-html").get_attribute("sandbox") == ""
    page.get_by_role("button", name="Save template").click()
    expect(page.locator(".flash")).to_contain_text("Template “spring_note” saved.")
