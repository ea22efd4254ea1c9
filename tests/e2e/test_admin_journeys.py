"""Journey list, library install and the canvas: its JSON endpoints and a build in Chromium."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page, expect

from campaign_engine.db import transaction
from campaign_engine.journeys.enrollment import enroll
from campaign_engine.journeys.runner import tick
from campaign_engine.journeys.service import get_version
from campaign_engine.message_templates import install_starters
from campaign_engine.runtime import Runtime
from tests.e2e.conftest import csrf_token, sign_in
from tests.factories import PASSWORD, make_contact


@pytest.fixture
def starter(runtime: Runtime) -> dict[str, Any]:
    """Install the starter templates; return the first email message template as {id, name}."""
    with transaction(runtime.sessions) as session:
        messages = [t for t in install_starters(session) if t.kind == "message"]
        session.flush()
        chosen = next(t for t in messages if t.channel == "email")
        return {"id": chosen.id, "name": chosen.name}


@pytest.fixture
def shoppers(runtime: Runtime) -> list[int]:
    with transaction(runtime.sessions) as session:
        return [
            make_contact(session, external_id=f"S-{i}", email=f"shopper{i}@example.com").id
            for i in range(3)
        ]


def drip(template_id: int | None) -> dict[str, Any]:
    """Return the five-step journey the browser test builds: API entry, send, delay, send, exit."""
    send: dict[str, Any] = {"channel": "email"}
    if template_id is not None:
        send["template_id"] = template_id
    return {
        "version": 1,
        "name": "Welcome drip",
        "nodes": [
            {"id": "entry_1", "type": "entry_api", "next": "send_1"},
            {"id": "send_1", "type": "send", **send, "next": "delay_1"},
            {"id": "delay_1", "type": "delay", "duration": {"days": 1}, "next": "send_2"},
            {"id": "send_2", "type": "send", **send, "next": "exit_1"},
            {"id": "exit_1", "type": "exit"},
        ],
    }


def signed_in_as(client: FlaskClient, users: dict[str, str], role: str) -> FlaskClient:
    assert sign_in(client, users[role]).status_code == 302
    return client


def headers(client: FlaskClient) -> dict[str, str]:
    return {"Accept": "application/json", "X-CSRF-Token": csrf_token(client)}


def new_journey(client: FlaskClient, name: str = "Welcome drip") -> int:
    response = client.post(
        "/admin/journeys/new", data={"name": name, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 303
    found = re.fullmatch(r"/admin/journeys/(\d+)", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def save(client: FlaskClient, journey_id: int, definition: Any) -> Any:
    return client.put(
        f"/admin/journeys/{journey_id}/draft",
        json={"definition": definition},
        headers=headers(client),
    )


# --- HTTP ------------------------------------------------------------------------------------


def test_check_returns_every_problem_with_its_step_id(
    client: FlaskClient, users: dict[str, str], starter: dict[str, Any]
) -> None:
    signed_in_as(client, users, "marketer")
    definition = drip(None)
    definition["nodes"][2]["next"] = "nowhere"
    response = client.post(
        "/admin/journeys/check", json={"definition": definition}, headers=headers(client)
    )
    assert response.status_code == 200
    problems = response.get_json()["problems"]
    by_step = {(p["node_id"], p["code"]) for p in problems}
    assert ("send_1", "send_template") in by_step
    assert ("send_2", "send_template") in by_step
    assert ("delay_1", "dangling_reference") in by_step
    assert all(p["message"] for p in problems)
    fixed = client.post(
        "/admin/journeys/check", json={"definition": drip(starter["id"])}, headers=headers(client)
    )
    assert fixed.get_json() == {"problems": []}


def test_save_and_publish_round_trip(
    client: FlaskClient, users: dict[str, str], starter: dict[str, Any]
) -> None:
    signed_in_as(client, users, "marketer")
    journey_id = new_journey(client)

    saved = save(client, journey_id, drip(None))
    assert saved.status_code == 200
    body = saved.get_json()
    assert body["journey"]["status"] == "draft"
    assert {p["node_id"] for p in body["problems"]} == {"send_1", "send_2"}

    refused = client.post(f"/admin/journeys/{journey_id}/publish", headers=headers(client))
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert {p["node_id"] for p in error["problems"]} == {"send_1", "send_2"}

    assert save(client, journey_id, drip(starter["id"])).get_json()["problems"] == []
    published = client.post(f"/admin/journeys/{journey_id}/publish", headers=headers(client))
    assert published.status_code == 200
    assert published.get_json()["journey"]["status"] == "published"
    assert published.get_json()["journey"]["version"] == 1

    paused = client.post(f"/admin/journeys/{journey_id}/pause", headers=headers(client))
    assert paused.get_json()["journey"]["status"] == "paused"
    again = client.post(f"/admin/journeys/{journey_id}/pause", headers=headers(client))
    assert again.status_code == 409
    resumed = client.post(f"/admin/journeys/{journey_id}/resume", headers=headers(client))
    assert resumed.get_json()["journey"]["status"] == "published"

    page = client.get("/admin/journeys").get_data(as_text=True)
    row = re.search(rf'data-journey-id="{journey_id}">(.*?)</tr>', page, re.S)
    assert row is not None
    assert "published" in row.group(1)
    assert "<td>1</td>" in row.group(1)


def test_canvas_page_hands_the_draft_and_pickers_to_the_script(
    client: FlaskClient, users: dict[str, str], starter: dict[str, Any]
) -> None:
    signed_in_as(client, users, "admin")
    journey_id = new_journey(client)
    save(client, journey_id, drip(starter["id"]))
    page = client.get(f"/admin/journeys/{journey_id}").get_data(as_text=True)
    assert 'id="canvas-initial"' in page
    assert '"delay_1"' in page
    assert f'"name": "{starter["name"]}"' in page
    assert "journey-canvas.js" in page


def test_counts_and_simulation_answer_per_step(
    client: FlaskClient,
    runtime: Runtime,
    users: dict[str, str],
    starter: dict[str, Any],
    shoppers: list[int],
) -> None:
    signed_in_as(client, users, "marketer")
    journey_id = new_journey(client)
    save(client, journey_id, drip(starter["id"]))

    simulated = client.post(
        f"/admin/journeys/{journey_id}/simulate",
        json={"definition": drip(starter["id"]), "days": 30},
        headers=headers(client),
    )
    assert simulated.status_code == 200
    result = simulated.get_json()
    assert result["nodes"]["exit_1"]["entered"] == 3
    assert result["sends"] == {"send_1": 3, "send_2": 3}
    assert result["exits"] == {"exit_1": 3}

    bad_days = client.post(
        f"/admin/journeys/{journey_id}/simulate",
        json={"definition": drip(starter["id"]), "days": "soon"},
        headers=headers(client),
    )
    assert bad_days.status_code == 422
    refused = client.post(
        f"/admin/journeys/{journey_id}/simulate",
        json={"definition": drip(None), "days": 30},
        headers=headers(client),
    )
    assert refused.status_code == 422
    assert "send_1" in {p["node_id"] for p in refused.get_json()["error"]["problems"]}

    client.post(f"/admin/journeys/{journey_id}/publish", headers=headers(client))
    with transaction(runtime.sessions) as session:
        version = get_version(session, journey_id)
        assert enroll(session, version, shoppers, "entry_1", datetime.now(UTC)) == 3
    counts = client.get(f"/admin/journeys/{journey_id}/counts").get_json()
    assert counts["nodes"]["entry_1"]["entered"] == 3
    assert counts["nodes"]["exit_1"]["entered"] == 0
    assert counts["summary"]["enrollments"] == 3
    tick(runtime.sessions, datetime.now(UTC))
    counts = client.get(f"/admin/journeys/{journey_id}/counts").get_json()
    assert counts["nodes"]["delay_1"] | {"left": 0} == {
        "entered": 3,
        "waiting": 3,
        "left": 0,
        "exited": 0,
        "converted": 0,
    }


def test_a_library_journey_installs_as_a_draft(client: FlaskClient, users: dict[str, str]) -> None:
    signed_in_as(client, users, "marketer")
    listing = client.get("/admin/journeys").get_data(as_text=True)
    assert 'data-library-key="welcome_onboarding"' in listing
    assert "onboarding" in listing
    response = client.post(
        "/admin/journeys/library/off_season_offer", data={"csrf_token": csrf_token(client)}
    )
    assert response.status_code == 303
    canvas = client.get(response.headers["Location"])
    assert canvas.status_code == 200
    assert "Installed from the library" in canvas.get_data(as_text=True)
    missing = client.post(
        "/admin/journeys/library/no_such_journey", data={"csrf_token": csrf_token(client)}
    )
    assert missing.status_code == 404


def test_an_analyst_cannot_open_or_save_a_journey(
    client: FlaskClient, users: dict[str, str], starter: dict[str, Any]
) -> None:
    signed_in_as(client, users, "marketer")
    journey_id = new_journey(client)
    client.post("/admin/logout", data={"csrf_token": csrf_token(client)})
    signed_in_as(client, users, "analyst")
    assert client.get(f"/admin/journeys/{journey_id}").status_code == 403
    assert save(client, journey_id, drip(starter["id"])).status_code == 403
    publish = client.post(f"/admin/journeys/{journey_id}/publish", headers=headers(client))
    assert publish.status_code == 403


def test_canvas_endpoints_refuse_requests_without_the_csrf_token(
    client: FlaskClient, users: dict[str, str], starter: dict[str, Any]
) -> None:
    signed_in_as(client, users, "marketer")
    journey_id = new_journey(client)
    response = client.put(
        f"/admin/journeys/{journey_id}/draft",
        json={"definition": drip(starter["id"])},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    check = client.post("/admin/journeys/check", json={"definition": {}})
    assert check.status_code == 400


def test_a_second_journey_with_the_same_name_is_refused_on_the_list(
    client: FlaskClient, users: dict[str, str]
) -> None:
    signed_in_as(client, users, "marketer")
    new_journey(client)
    response = client.post(
        "/admin/journeys/new",
        data={"name": "Welcome drip", "csrf_token": csrf_token(client)},
        follow_redirects=True,
    )
    assert "already exists" in response.get_data(as_text=True)


# --- Chromium --------------------------------------------------------------------------------


def step(page: Page, node_id: str) -> Any:
    return page.locator(f'[data-node-id="{node_id}"]')


def add_step(page: Page, label: str) -> None:
    page.locator("#canvas-palette").get_by_role("button", name=label, exact=True).click()


def test_marketer_builds_publishes_and_sees_contacts_enter(
    browser: Browser,
    live_url: str,
    runtime: Runtime,
    users: dict[str, str],
    starter: dict[str, Any],
    shoppers: list[int],
) -> None:
    page = browser.new_page(viewport={"width": 1700, "height": 1100})
    page.goto(f"{live_url}/admin/journeys")
    page.get_by_label("Email").fill(users["marketer"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Name").fill("Welcome drip")
    page.get_by_role("button", name="New journey").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome drip"))).to_be_visible()

    # Place five steps: one dragged from the palette, the rest clicked in.
    entry = page.locator("#canvas-palette").get_by_role("button", name="Added by the API")
    entry.drag_to(page.locator("#canvas-svg"), target_position={"x": 140, "y": 80})
    expect(step(page, "entry_1")).to_be_visible()
    for label in ("Send a message", "Delay", "Send a message", "Exit"):
        add_step(page, label)
    for node_id in ("send_1", "delay_1", "send_2", "exit_1"):
        expect(step(page, node_id)).to_be_visible()

    # Connect by dragging from output ports, and one through the side panel.
    page.locator('[data-port="entry_1:next"]').drag_to(step(page, "send_1"))
    page.locator('[data-port="send_1:next"]').drag_to(step(page, "delay_1"))
    page.locator('[data-port="delay_1:next"]').drag_to(step(page, "send_2"))
    expect(page.locator('[data-edge="delay_1:next"]')).to_have_attribute("data-to", "send_2")
    step(page, "send_2").click()
    page.locator('#canvas-panel select[data-output="next"]').select_option("exit_1")
    expect(page.locator('[data-edge="send_2:next"]')).to_have_attribute("data-to", "exit_1")

    # An arrow can be selected and deleted, and a stray step removed.
    page.locator('[data-edge="delay_1:next"]').click()
    expect(page.locator("#canvas-panel")).to_contain_text("From delay_1 (next) to send_2.")
    page.keyboard.press("Delete")
    expect(page.locator('[data-edge="delay_1:next"]')).to_have_count(0)
    page.locator('[data-port="delay_1:next"]').drag_to(step(page, "send_2"))
    expect(page.locator('[data-edge="delay_1:next"]')).to_have_attribute("data-to", "send_2")
    add_step(page, "Webhook")
    expect(step(page, "action_1")).to_have_class(re.compile(r"\bbad\b"))
    page.get_by_role("button", name="Delete step").click()
    expect(step(page, "action_1")).to_have_count(0)

    # The sends have no template yet: validation marks them, and says why.
    expect(step(page, "send_1")).to_have_class(re.compile(r"\bbad\b"))
    expect(page.locator("#canvas-problems")).to_contain_text("send_1")
    step(page, "send_1").click()
    expect(page.locator("#panel-problems")).to_contain_text("template")
    for node_id in ("send_1", "send_2"):
        step(page, node_id).click()
        page.locator('#canvas-panel select[data-field="template_id"]').select_option(
            str(starter["id"])
        )
    expect(step(page, "send_1")).not_to_have_class(re.compile(r"\bbad\b"))
    expect(page.locator("#canvas-check")).to_have_text("No problems: ready to publish.")
    expect(page.locator(".jc-node.bad")).to_have_count(0)

    # Simulate: per-step counts and the exits show up on the canvas.
    page.get_by_label("Simulate").fill("30")
    page.get_by_role("button", name="Simulate", exact=True).click()
    expect(step(page, "exit_1").locator('[data-badge="sim"]')).to_contain_text("sim 3 entered")
    expect(step(page, "send_1").locator('[data-badge="sim"]')).to_contain_text("3 sent")
    expect(page.locator("#canvas-simulation")).to_contain_text("exit_1: 3")

    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#canvas-message")).to_have_text("Draft saved.")
    page.get_by_role("button", name="Publish").click()
    expect(page.locator("#canvas-message")).to_have_text("Published version 1.")
    expect(page.locator("#canvas-status [data-status]")).to_have_text("published")
    expect(page.get_by_role("button", name="Pause")).to_be_visible()

    # Contacts enter through the API entry; the canvas shows them on the step.
    journey_id = int(page.url.rsplit("/", 1)[1])
    with transaction(runtime.sessions) as session:
        version = get_version(session, journey_id)
        assert enroll(session, version, shoppers, "entry_1", datetime.now(UTC)) == 3
    page.reload()
    expect(step(page, "entry_1").locator('[data-badge="live"]')).to_contain_text("3 entered")
    expect(page.locator("#canvas-summary")).to_contain_text("Enrollments")

    # The runner walks them to the delay; the counts follow without reloading the page.
    now = datetime.now(UTC)
    assert tick(runtime.sessions, now) > 0
    delay = step(page, "delay_1").locator('[data-badge="live"]')
    expect(delay).to_have_text("3 entered · 3 waiting", timeout=15_000)
    expect(step(page, "send_1").locator('[data-badge="live"]')).to_contain_text("3 entered")
    tick(runtime.sessions, now + timedelta(days=1, minutes=1))
    page.reload()
    expect(step(page, "exit_1").locator('[data-badge="live"]')).to_contain_text("3 entered")
    expect(delay).to_have_text("3 entered · 0 waiting")
