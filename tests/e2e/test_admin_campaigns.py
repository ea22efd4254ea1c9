"""Campaign wizard, campaign list and campaign page: over HTTP and in headless Chromium."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Browser
from sqlalchemy import select
from sqlalchemy.engine import Engine
from werkzeug.test import TestResponse

from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.dispatch.settings import DispatchSettings
from campaign_engine.dispatch.wiring import build_runner
from campaign_engine.message_templates import install_starters
from campaign_engine.models import Consent, MessageTemplate
from campaign_engine.runtime import Runtime
from campaign_engine.segments.service import create_segment
from tests.e2e.conftest import csrf_token, sign_in
from tests.factories import PASSWORD, make_contact

LEEDS = {"version": 1, "root": {"type": "attribute", "field": "city", "op": "eq", "value": "Leeds"}}


@pytest.fixture
def settings(engine: Engine, tmp_path: Path) -> Settings:
    """The shared settings without quiet hours, so a send at any time of day goes out now."""
    return Settings(
        instance_path=tmp_path / "instance",
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="test-secret",
        testing=True,
        dispatch=DispatchSettings(quiet_start=time(0), quiet_end=time(0)),
    )


@dataclass(frozen=True)
class Store:
    """Three Leeds contacts (two opted in to email), their segment and the starter templates."""

    segment_id: int
    opted_in: tuple[int, int]
    no_consent: int
    templates: dict[str, int]


@pytest.fixture
def store(runtime: Runtime) -> Store:
    with transaction(runtime.sessions) as session:
        people = {
            name: make_contact(
                session, email=f"{name}@example.com", first_name=name.capitalize(), city="Leeds"
            ).id
            for name in ("ann", "bob", "cat")
        }
        for name in ("ann", "bob"):
            session.add(
                Consent(
                    contact_id=people[name],
                    channel="email",
                    purpose="marketing",
                    state="opted_in",
                    source="signup",
                    updated_at=datetime(2024, 1, 1, tzinfo=UTC),
                )
            )
        session.flush()
        segment = create_segment(
            session, name="Leeds shoppers", description="", definition=LEEDS, created_by=None
        )
        install_starters(session)
        templates = dict(
            session.execute(
                select(MessageTemplate.name, MessageTemplate.id).where(
                    MessageTemplate.kind == "message"
                )
            ).all()
        )
        return Store(segment.id, (people["ann"], people["bob"]), people["cat"], templates)


def signed_in_as(client: FlaskClient, users: dict[str, str], role: str) -> FlaskClient:
    assert sign_in(client, users[role]).status_code == 302
    return client


def spec(store: Store, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Summer in Leeds",
        "type": "newsletter",
        "objective": "Tell Leeds about the summer range",
        "budget": 500,
        "fixed_cost": 50,
        "audience": {"segments": [store.segment_id], "holdout_percent": 0},
        "variants": [
            {
                "name": "A",
                "share": 100,
                "messages": [{"channel": "email", "template_id": store.templates["welcome"]}],
            }
        ],
        "ab_test": None,
        "schedule": {"kind": "none"},
    }
    return body | overrides


def post_json(client: FlaskClient, url: str, body: Any) -> TestResponse:
    return client.post(url, json=body, headers={"X-CSRF-Token": csrf_token(client)})


def post_form(client: FlaskClient, url: str, **fields: str) -> TestResponse:
    return client.post(url, data={"csrf_token": csrf_token(client), **fields})


def save_draft(client: FlaskClient, body: dict[str, Any]) -> int:
    response = post_json(client, "/admin/campaigns/draft", {"spec": body})
    assert response.status_code == 200, response.get_json()
    campaign_id: int = response.get_json()["id"]
    return campaign_id


# --- HTTP ------------------------------------------------------------------------------------


def test_a_saved_draft_shows_its_plan_on_the_campaign_page_and_in_the_list(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    signed_in_as(client, users, "marketer")
    campaign_id = save_draft(client, spec(store))
    page = client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Summer in Leeds" in page
    assert "Leeds shoppers" in page
    assert ">welcome</a>" in page
    assert "Launch now" in page
    assert "Not scheduled: it is sent when launched." in page
    listing = client.get("/admin/campaigns").get_data(as_text=True)
    assert f'data-campaign-id="{campaign_id}"' in listing
    assert "draft" in listing


def test_a_refused_save_names_each_field_and_keeps_the_previous_version(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    signed_in_as(client, users, "marketer")
    campaign_id = save_draft(client, spec(store))
    bad = spec(
        store,
        name="Renamed",
        variants=[
            {"name": "A", "share": 100, "messages": [{"channel": "sms", "template_id": 999}]}
        ],
        audience={"segments": [store.segment_id, 998], "holdout_percent": 0},
    )
    response = post_json(client, f"/admin/campaigns/{campaign_id}/draft", {"spec": bad})
    assert response.status_code == 422
    locations = {p["location"] for p in response.get_json()["error"]["problems"]}
    assert locations == {"audience.segments[1]", "variants[0].messages[0].template_id"}
    response = post_json(
        client,
        f"/admin/campaigns/{campaign_id}/draft",
        {"spec": spec(store, name="Renamed", schedule={"kind": "once"})},
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["problems"][0]["location"] == "schedule"
    page = client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Summer in Leeds" in page
    assert "Renamed" not in page


def test_the_wizard_opens_on_a_saved_plan(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    signed_in_as(client, users, "marketer")
    campaign_id = save_draft(client, spec(store))
    page = client.get(f"/admin/campaigns/{campaign_id}/edit").get_data(as_text=True)
    assert '"name": "Summer in Leeds"' in page
    assert "Leeds shoppers" in page  # the segment catalogue handed to the wizard


def test_dry_run_counts_the_audience_and_says_why_contacts_are_skipped(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    signed_in_as(client, users, "analyst")
    with client.application.test_client() as marketer:
        signed_in_as(marketer, users, "marketer")
        campaign_id = save_draft(marketer, spec(store))
    report = post_json(client, f"/admin/campaigns/{campaign_id}/dry-run", {}).get_json()
    assert report["audience"] == 3
    assert report["messages"] == {"email": 2}
    assert report["skipped"] == [
        {
            "reason": "no_consent",
            "count": 1,
            "sentence": "Not sent to 1 contact, who has not opted in to marketing on the channel.",
        }
    ]


def test_launch_sends_and_progress_and_why_tell_the_story(
    client: FlaskClient, users: dict[str, str], store: Store, runtime: Runtime
) -> None:
    signed_in_as(client, users, "marketer")
    campaign_id = save_draft(client, spec(store))
    response = post_form(client, f"/admin/campaigns/{campaign_id}/launch")
    assert response.status_code == 303
    assert "Campaign launched" in client.get(response.headers["Location"]).get_data(as_text=True)
    build_runner(runtime).tick()
    progress = client.get(f"/admin/campaigns/{campaign_id}/progress").get_json()
    assert (progress["status"], progress["sent"], progress["queued"]) == ("completed", 2, 0)
    assert [line["reason"] for line in progress["skipped"]] == ["no_consent"]
    why = client.get(f"/admin/campaigns/{campaign_id}/explain?contact_id={store.no_consent}")
    assert "has not opted in to marketing on the channel" in " ".join(why.get_json()["explanation"])
    sent = client.get(f"/admin/campaigns/{campaign_id}/explain?contact_id={store.opted_in[0]}")
    assert "The email message was sent" in " ".join(sent.get_json()["explanation"])
    assert client.get(f"/admin/campaigns/{campaign_id}/explain?contact_id=x").status_code == 422


def test_a_refused_action_comes_back_as_a_message(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    signed_in_as(client, users, "marketer")
    campaign_id = save_draft(client, spec(store))
    response = post_form(client, f"/admin/campaigns/{campaign_id}/schedule")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "the campaign has no schedule" in page
    assert "schedule.kind: choose once, cron or local_time" in page


def test_a_test_send_goes_to_the_seed_addresses(
    client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    signed_in_as(client, users, "marketer")
    campaign_id = save_draft(client, spec(store))
    url = f"/admin/campaigns/{campaign_id}/test-send"
    response = post_form(client, url, seeds="qa@example.com", contact_id=str(store.opted_in[0]))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Test send to qa@example.com completed: 1 accepted." in page
    refused = post_form(client, url, seeds="not an address")
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "is neither an email nor an E.164 phone" in page


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/admin/campaigns/{id}/launch"),
        ("post", "/admin/campaigns/{id}/schedule"),
        ("post", "/admin/campaigns/{id}/cancel"),
        ("post", "/admin/campaigns/{id}/draft"),
        ("post", "/admin/campaigns/{id}/test-send"),
        ("get", "/admin/campaigns/{id}/edit"),
        ("get", "/admin/campaigns/new"),
    ],
)
def test_an_analyst_reads_campaigns_but_cannot_change_them(
    client: FlaskClient, users: dict[str, str], store: Store, method: str, path: str
) -> None:
    with client.application.test_client() as marketer:
        signed_in_as(marketer, users, "marketer")
        campaign_id = save_draft(marketer, spec(store))
    signed_in_as(client, users, "analyst")
    url = path.format(id=campaign_id)
    response = post_form(client, url) if method == "post" else client.get(url)
    assert response.status_code == 403
    page = client.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Summer in Leeds" in page
    assert "Launch now" not in page
    assert client.get(f"/admin/campaigns/{campaign_id}/progress").status_code == 200


# --- browser ---------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_marketer_plans_launches_and_watches_a_campaign(
    browser: Browser, live_url: str, users: dict[str, str], store: Store, runtime: Runtime
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{live_url}/admin/campaigns")
    page.get_by_label("Email").fill(users["marketer"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="New campaign").click()

    # Definition, then planning.
    page.get_by_label("Name", exact=True).fill("Summer in Leeds")
    page.get_by_label("Type").select_option("newsletter")
    page.get_by_label("Objective").fill("Tell Leeds about the summer range")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("Budget").fill("500")
    page.get_by_label("Fixed costs").fill("50")
    page.get_by_role("button", name="Next").click()

    # Audience: the segment with its size, a second variant, then back to one.
    row = page.locator("#segment-choices tr", has_text="Leeds shoppers")
    expect(row).to_contain_text("3")
    page.get_by_label("Use of segment Leeds shoppers").select_option("include")
    page.get_by_role("button", name="+ Variant").click()
    expect(page.get_by_label("Share of variant B %")).to_have_value("50")
    page.get_by_role("button", name="Remove variant B").click()
    expect(page.get_by_label("Share of variant A %")).to_have_value("100")
    page.get_by_role("button", name="Next").click()

    # Content: leaving without a template is refused, with the problem on the variant.
    page.get_by_role("button", name="Next").click()
    content = page.locator(".variant-content").first
    expect(content).to_contain_text("List should have at least 1 item")
    expect(page.locator('.step-tab[data-goto="content"]')).to_have_class("step-tab has-problems")
    page.get_by_label("Preview as contact id").fill(str(store.opted_in[0]))
    page.get_by_label("Variant A email template").select_option(label="welcome")
    expect(page.locator("#preview-subject")).to_contain_text("Ann")
    assert page.locator("#preview-html").get_attribute("sandbox") == ""
    page.get_by_role("button", name="Next").click()

    # Schedule: send when launched; the draft is saved on the way.
    expect(page.locator("#wizard-status")).to_contain_text("Draft saved")
    assert "/edit" in page.url
    page.get_by_label("Send now, when I launch it").check()
    page.get_by_role("button", name="Next").click()

    # Review: the dry run's numbers, with the skip said in a sentence.
    review = page.locator("#review-result")
    expect(review.locator(".dry-audience")).to_have_text("3")
    expect(review.locator('[data-channel="email"]')).to_have_text("email: 2")
    expect(review.locator(".dry-skipped")).to_contain_text("has not opted in to marketing")
    page.get_by_role("button", name="Next").click()

    # Launch, then watch the progress.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("#campaign-status")).to_have_text("running")
    expect(page.locator("div.flash")).to_contain_text("Campaign launched")
    build_runner(runtime).tick()  # the e2e server runs no scheduler
    expect(page.locator("#progress-sent")).to_have_text("2", timeout=10_000)
    expect(page.locator("#campaign-status")).to_have_text("completed")
    expect(page.locator("#progress-skipped")).to_contain_text("has not opted in to marketing")

    page.get_by_label("Contact id", exact=True).fill(str(store.no_consent))
    page.get_by_role("button", name="Explain").click()
    expect(page.locator("#why-answer")).to_contain_text("has not opted in to marketing")


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_analyst_sees_the_campaign_page_without_actions(
    browser: Browser, live_url: str, client: FlaskClient, users: dict[str, str], store: Store
) -> None:
    from playwright.sync_api import expect

    signed_in_as(client, users, "marketer")
    campaign_id = save_draft(client, spec(store))
    page = browser.new_page()
    page.goto(f"{live_url}/admin/campaigns/{campaign_id}")
    page.get_by_label("Email").fill(users["analyst"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Summer in Leeds")).to_be_visible()
    expect(page.get_by_role("button", name="Launch now")).to_have_count(0)
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("#dry-run-result .dry-audience")).to_have_text("3")
    response = page.request.post(
        f"{live_url}/admin/campaigns/{campaign_id}/launch",
        form={"csrf_token": page.locator("input[name=csrf_token]").first.input_value()},
        max_redirects=0,
    )
    assert response.status == 403
