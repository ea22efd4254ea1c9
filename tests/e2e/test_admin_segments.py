"""Segment builder, live preview and target lists: over HTTP and in headless Chromium."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Browser

from campaign_engine.db import transaction
from campaign_engine.models import (
    Campaign,
    CampaignRun,
    Delivery,
    MessageTemplate,
    UpliftScore,
)
from campaign_engine.runtime import Runtime
from tests.e2e.conftest import csrf_token, sign_in
from tests.factories import PASSWORD, make_contact, make_order, make_product, make_uplift_model

INVALID = re.compile(r"\binvalid\b")
BOUGHT_AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
# all[ city is Leeds, any[ bought from "garden", household income >= 80,000 ] ]
LEEDS_GARDENERS: dict[str, Any] = {
    "version": 1,
    "root": {
        "type": "all",
        "children": [
            {"type": "attribute", "field": "city", "op": "eq", "value": "Leeds"},
            {
                "type": "any",
                "children": [
                    {"type": "purchase", "category": "garden"},
                    {"type": "attribute", "field": "household_income", "op": "gte", "value": 80000},
                ],
            },
        ],
    },
}


def make_store(session: Any) -> dict[str, int]:
    """Add six contacts of whom three (ann, bob, cat) are Leeds gardeners or earn well."""
    spade = make_product(session, "SPADE", "Spade", 20.0, category="garden")
    pan = make_product(session, "PAN", "Frying Pan", 30.0, category="kitchen")
    people = {
        "ann": ("Leeds", 90_000, spade),
        "bob": ("Leeds", 30_000, spade),
        "cat": ("Leeds", 85_000, None),
        "dan": ("Leeds", 30_000, pan),
        "eve": ("York", 90_000, spade),
        "fay": ("Leeds", None, None),
    }
    ids = {}
    for name, (city, income, product) in people.items():
        contact = make_contact(
            session,
            external_id=name.upper(),
            email=f"{name}@example.com",
            first_name=name.capitalize(),
            city=city,
            household_income=income,
        )
        if product is not None:
            make_order(session, contact.id, BOUGHT_AT, [(product, 1)])
        ids[name] = contact.id
    return ids


@pytest.fixture
def store(runtime: Runtime) -> dict[str, int]:
    with transaction(runtime.sessions) as session:
        return make_store(session)


def signed_in_as(client: FlaskClient, users: dict[str, str], role: str) -> FlaskClient:
    assert sign_in(client, users[role]).status_code == 302
    return client


def preview(client: FlaskClient, definition: Any, token: str | None = "") -> Any:
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["X-CSRF-Token"] = token or csrf_token(client)
    return client.post("/admin/segments/preview", json={"definition": definition}, headers=headers)


def save(client: FlaskClient, name: str, definition: Any) -> Any:
    form = {
        "csrf_token": csrf_token(client),
        "name": name,
        "description": "Leeds people into gardening or well off",
        "definition": definition if isinstance(definition, str) else json.dumps(definition),
    }
    return client.post("/admin/segments/new", data=form)


def saved_segments(client: FlaskClient) -> dict[str, int]:
    """Return the segment list page's segments as {name: id}."""
    page = client.get("/admin/segments").get_data(as_text=True)
    rows = re.findall(r'data-segment-id="(\d+)">\s*<td><a href="[^"]+">([^<]+)</a>', page)
    return {name: int(segment_id) for segment_id, name in rows}


# --- HTTP ------------------------------------------------------------------------------------


def test_preview_counts_members_and_the_funnel(
    client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "analyst")
    response = preview(client, LEEDS_GARDENERS)
    assert response.status_code == 200
    body = response.get_json()
    assert body["count"] == 3
    assert {row["email"] for row in body["sample"]} == {
        "ann@example.com",
        "bob@example.com",
        "cat@example.com",
    }
    steps = [(s["path"], s["alone"], s["cumulative"]) for s in body["funnel"]]
    assert steps == [("root.children[0]", 5, 5), ("root.children[1]", 4, 3)]


def test_preview_of_a_bad_definition_is_422_with_the_node_location(
    client: FlaskClient, users: dict[str, str]
) -> None:
    signed_in_as(client, users, "marketer")
    bad = copy.deepcopy(LEEDS_GARDENERS)
    bad["root"]["children"][1]["children"][1]["op"] = "contains"
    response = preview(client, bad)
    assert response.status_code == 422
    problems = response.get_json()["error"]["problems"]
    assert [p["location"] for p in problems] == ["definition.root.children[1].children[1]"]
    assert "'contains' does not apply to number field" in problems[0]["message"]


def test_preview_without_the_csrf_token_is_refused(
    client: FlaskClient, users: dict[str, str]
) -> None:
    signed_in_as(client, users, "marketer")
    assert preview(client, LEEDS_GARDENERS, token=None).status_code == 400
    assert preview(client, LEEDS_GARDENERS, token="forged").status_code == 400


def test_catalogue_lists_fields_categories_and_segments(
    client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "analyst")
    body = client.get("/admin/segments/catalogue").get_json()
    assert body["categories"] == ["garden", "kitchen"]
    assert "household_income" in {f["name"] for f in body["fields"]["profile"]}
    assert "gte" in body["kinds"]["number"]
    assert body["uplift_models"] == []
    assert body["uplift_ops"] == ["lt", "lte", "gt", "gte", "between"]


def test_marketer_saves_a_segment_and_the_list_shows_its_size(
    browser: Browser, client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "marketer")
    response = save(client, "Leeds gardeners", LEEDS_GARDENERS)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/segments"
    page = client.get("/admin/segments").get_data(as_text=True)
    assert "Segment “Leeds gardeners” saved." in page
    assert "Leeds gardeners" in page
    assert '<td class="num size">3</td>' in page


def test_saving_a_bad_definition_keeps_the_form_and_says_why(
    client: FlaskClient, users: dict[str, str]
) -> None:
    signed_in_as(client, users, "marketer")
    bad = {"version": 1, "root": {"type": "any", "children": []}}
    response = save(client, "Nobody", bad)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'value="Nobody"' in page
    assert "Not saved:" in page
    assert "definition.root.children" in page  # handed to the builder to mark the node
    response = save(client, "Broken", "{not json")
    assert response.status_code == 422
    assert "not valid JSON" in response.get_data(as_text=True)


def test_a_second_segment_with_the_same_name_is_refused(
    client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "marketer")
    assert save(client, "Leeds gardeners", LEEDS_GARDENERS).status_code == 302
    response = save(client, "Leeds gardeners", LEEDS_GARDENERS)
    assert response.status_code == 409
    assert "already exists" in response.get_data(as_text=True)


def test_analyst_may_preview_but_not_save(
    client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "analyst")
    builder = client.get("/admin/segments/new")
    assert builder.status_code == 200
    assert "Save segment" not in builder.get_data(as_text=True)
    assert preview(client, LEEDS_GARDENERS).status_code == 200
    assert save(client, "Leeds gardeners", LEEDS_GARDENERS).status_code == 403
    assert "Leeds gardeners" not in client.get("/admin/segments").get_data(as_text=True)


def test_editing_a_segment_loads_its_definition(
    client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "marketer")
    save(client, "Leeds gardeners", LEEDS_GARDENERS)
    segment_id = saved_segments(client)["Leeds gardeners"]
    builder = client.get(f"/admin/segments/{segment_id}").get_data(as_text=True)
    assert "household_income" in builder  # the stored definition, handed to the builder
    form = {
        "csrf_token": csrf_token(client),
        "name": "Leeds gardeners only",
        "description": "",
        "definition": '{"version": 1, "root": {"type": "purchase", "category": "garden"}}',
    }
    assert client.post(f"/admin/segments/{segment_id}", data=form).status_code == 302
    page = client.get("/admin/segments").get_data(as_text=True)
    assert "Leeds gardeners only" in page
    assert '<td class="num size">3</td>' in page  # ann, bob, eve


def test_a_segment_another_refers_to_cannot_be_deleted(
    client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "marketer")
    save(client, "Leeds gardeners", LEEDS_GARDENERS)
    base_id = saved_segments(client)["Leeds gardeners"]
    excluding = {"type": "segment", "segment_id": base_id, "exclude": True}
    save(client, "Not Leeds gardeners", {"version": 1, "root": excluding})
    token = csrf_token(client)
    refused = client.post(f"/admin/segments/{base_id}/delete", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "refers to this segment" in refused.get_data(as_text=True)
    other_id = saved_segments(client)["Not Leeds gardeners"]
    deleted = client.post(f"/admin/segments/{other_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 302
    assert saved_segments(client) == {"Leeds gardeners": base_id}


def test_static_list_upload_matches_contacts_and_reports_the_rest(
    client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "marketer")
    upload = b"email,note\nANN@example.com,vip\ncat@example.com,\nzed@example.com,unknown\n"
    response = client.post(
        "/admin/target-lists/upload",
        data={
            "csrf_token": csrf_token(client),
            "name": "Press invitations",
            "match_by": "email",
            "csv_file": (io.BytesIO(upload), "invites.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    assert "<strong>2</strong> contacts matched" in page
    assert "line 4" in page
    assert "zed@example.com" in page
    lists = client.get("/admin/target-lists").get_data(as_text=True)
    assert "Press invitations" in lists
    assert '<span class="tag">static</span>' in lists


def test_upload_without_the_match_column_re_renders_the_form(
    client: FlaskClient, users: dict[str, str]
) -> None:
    signed_in_as(client, users, "marketer")
    response = client.post(
        "/admin/target-lists/upload",
        data={
            "csrf_token": csrf_token(client),
            "name": "Wrong file",
            "match_by": "phone",
            "csv_text": "email\nann@example.com\n",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "the header has no &#39;phone&#39; column" in page
    assert 'value="Wrong file"' in page


def test_snapshot_exports_the_top_members_as_csv(
    client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "marketer")
    save(client, "Leeds gardeners", LEEDS_GARDENERS)
    segment_id = saved_segments(client)["Leeds gardeners"]
    response = client.post(
        "/admin/target-lists/snapshot",
        data={
            "csrf_token": csrf_token(client),
            "segment_id": segment_id,
            "name": "Richest two",
            "sort_by": "household_income",
            "descending": "on",
            "limit": "2",
        },
    )
    assert response.status_code == 302
    detail_url = response.headers["Location"]
    detail = client.get(detail_url).get_data(as_text=True)
    assert "2 contacts" in detail
    assert "Target list created with 2 contacts." in detail

    export = client.get(f"{detail_url}/members.csv")
    assert export.status_code == 200
    assert export.mimetype == "text/csv"
    disposition = export.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith('.csv"')
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [(r["position"], r["email"]) for r in rows] == [
        ("1", "ann@example.com"),
        ("2", "cat@example.com"),
    ]


def test_a_bad_snapshot_limit_re_renders_the_form_with_the_reason(
    client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "marketer")
    save(client, "Leeds gardeners", LEEDS_GARDENERS)
    form = {
        "csrf_token": csrf_token(client),
        "segment_id": saved_segments(client)["Leeds gardeners"],
        "name": "Nobody at all",
        "limit": "0",
    }
    response = client.post("/admin/target-lists/snapshot", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "give a limit from 1" in page
    assert 'value="Nobody at all"' in page
    assert "No target lists yet." in page


def test_analyst_cannot_create_target_lists(
    client: FlaskClient, users: dict[str, str], store: dict[str, int]
) -> None:
    signed_in_as(client, users, "analyst")
    response = client.post(
        "/admin/target-lists/upload",
        data={"csrf_token": csrf_token(client), "name": "x", "match_by": "email", "csv_text": ""},
    )
    assert response.status_code == 403
    assert "Upload a list" not in client.get("/admin/target-lists").get_data(as_text=True)


# --- browser ---------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_marketer_builds_saves_and_exports_a_two_level_segment(
    browser: Browser, live_url: str, users: dict[str, str], store: dict[str, int], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{live_url}/admin/segments")
    page.get_by_label("Email").fill(users["marketer"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="New segment").click()

    def node(path: str) -> Any:
        return page.locator(f'[data-path="{path}"]')

    def add(path: str, what: str) -> None:
        buttons = node(path).locator(":scope > .group-body > .group-add")
        buttons.get_by_role("button", name=what).click()

    # all[ city is Leeds, any[ bought from garden, household income >= 80,000 ] ]
    first = node("root.children[0]")
    expect(first.get_by_label("Condition", exact=True)).to_have_value("attribute:city")
    first.get_by_label("Value", exact=True).fill("Leeds")
    add("root", "+ Group")
    expect(node("root.children[1]").get_by_label("Group type")).to_have_value("any")
    bought = node("root.children[1].children[0]")
    bought.get_by_label("Condition", exact=True).select_option("purchase")
    bought.get_by_label("What").select_option("category")
    bought.get_by_label("Category", exact=True).select_option("garden")
    add("root.children[1]", "+ Condition")
    income = node("root.children[1].children[1]")
    income.get_by_label("Condition", exact=True).select_option("attribute:household_income")
    income.get_by_label("Operator").select_option("gte")
    income.get_by_label("Value", exact=True).fill("80000")

    expect(page.locator("#preview-count")).to_have_text("3")
    funnel = page.locator("#preview-funnel li")
    expect(funnel).to_have_count(2)
    expect(funnel.nth(0).locator(".cumulative")).to_have_text("5")
    expect(funnel.nth(1).locator(".cumulative")).to_have_text("3")
    expect(funnel.nth(1)).to_contain_text("(4 alone)")
    expect(node("root.children[1]").locator(".node-count").first).to_contain_text("4 alone")
    expect(page.locator("#preview-sample")).to_contain_text("cat@example.com")

    # A mistake is shown on the condition that has it, then put right.
    income.get_by_label("Operator").select_option("between")
    income.get_by_label("From", exact=True).fill("90000")
    income.get_by_label("To", exact=True).fill("10")
    expect(income).to_have_class(INVALID)
    expect(income.locator(".node-problems")).to_contain_text("'between' runs from low")
    expect(page.locator("#preview-count")).to_have_text("—")
    income.get_by_label("Operator").select_option("gte")
    income.get_by_label("Value", exact=True).fill("80000")
    expect(page.locator("#preview-count")).to_have_text("3")
    expect(income).not_to_have_class(INVALID)

    page.get_by_label("Name", exact=True).fill("Leeds gardeners")
    page.get_by_label("Description", exact=True).fill("Leeds people into gardening or well off")
    page.get_by_role("button", name="Save segment").click()

    expect(page).to_have_url(f"{live_url}/admin/segments")
    row = page.locator("#segments tr", has_text="Leeds gardeners")
    expect(row.locator(".size")).to_have_text("3")

    segment_id = row.get_attribute("data-segment-id")
    row.get_by_role("link", name="Make a target list").click()
    snapshot = page.locator("#snapshot")
    expect(snapshot.get_by_label("Segment", exact=True)).to_have_value(str(segment_id))
    snapshot.get_by_label("List name").fill("Richest two in Leeds")
    snapshot.get_by_label("Sort by").select_option("household_income")
    snapshot.get_by_label("Keep at most").fill("2")
    snapshot.get_by_label("One contact per").select_option("email")
    snapshot.get_by_role("button", name="Create snapshot").click()

    expect(page.get_by_role("heading", name="Richest two in Leeds")).to_be_visible()
    expect(page.locator("#list-size")).to_have_text("2 contacts")
    expect(page.locator("#members")).to_contain_text("ann@example.com")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "list.csv"
    download_info.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert [r["email"] for r in rows] == ["ann@example.com", "cat@example.com"]


def send_spring(session: Any, ids: dict[str, int]) -> int:
    """Send campaign SPRING to ann (who opened it) and bob (who did not); return its id."""
    template = MessageTemplate(name="spring", subject="Spring", text="Hello")
    campaign = Campaign(code="SPRING", name="Spring sale", channel="email")
    session.add_all([template, campaign])
    session.flush()
    run = CampaignRun(campaign_id=campaign.id, due_at=BOUGHT_AT)
    session.add(run)
    session.flush()
    for name, opened in (("ann", BOUGHT_AT), ("bob", None)):
        session.add(
            Delivery(
                key=f"spring-{name}",
                run_id=run.id,
                campaign_id=campaign.id,
                contact_id=ids[name],
                channel="email",
                variant="A",
                template_id=template.id,
                address=f"{name}@example.com",
                status="accepted",
                planned_at=BOUGHT_AT,
                not_before=BOUGHT_AT,
                sent_at=BOUGHT_AT,
                opened_at=opened,
            )
        )
    session.flush()
    return int(campaign.id)


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_marketer_builds_message_conditions(
    browser: Browser,
    live_url: str,
    users: dict[str, str],
    store: dict[str, int],
    runtime: Runtime,
) -> None:
    from playwright.sync_api import expect

    with transaction(runtime.sessions) as session:
        campaign_id = send_spring(session, store)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{live_url}/admin/segments")
    page.get_by_label("Email").fill(users["marketer"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="New segment").click()

    first = page.locator('[data-path="root.children[0]"]')
    first.get_by_label("Condition", exact=True).select_option("message")
    first.get_by_label("Campaign", exact=True).select_option(str(campaign_id))
    first.get_by_label("When", exact=True).select_option("all")
    expect(page.locator("#preview-count")).to_have_text("1")
    expect(page.locator("#preview-funnel li").first).to_contain_text("opened campaign")
    first.get_by_label("Action", exact=True).select_option("received")
    expect(page.locator("#preview-count")).to_have_text("2")

    first.get_by_label("Condition", exact=True).select_option("unopened")
    first.get_by_label("Messages", exact=True).fill("1")
    expect(page.locator("#preview-count")).to_have_text("1")
    expect(page.locator("#preview-sample")).to_contain_text("bob@example.com")


def score_winback(session: Any, ids: dict[str, int]) -> None:
    """Model winback scores ann, bob and cat (ranked in that order); upsell scores nobody."""
    make_uplift_model(session, "upsell")
    model_id, version_id = make_uplift_model(session, "winback")
    for name, score, percentile in (("ann", 0.3, 0.0), ("bob", 0.1, 1 / 3), ("cat", -0.1, 2 / 3)):
        session.add(
            UpliftScore(
                model_id=model_id,
                contact_id=ids[name],
                version_id=version_id,
                score=score,
                percentile=percentile,
                scored_at=BOUGHT_AT,
            )
        )
    session.flush()


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_marketer_builds_an_uplift_condition(
    browser: Browser,
    live_url: str,
    users: dict[str, str],
    store: dict[str, int],
    runtime: Runtime,
) -> None:
    from playwright.sync_api import expect

    with transaction(runtime.sessions) as session:
        score_winback(session, store)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{live_url}/admin/segments")
    page.get_by_label("Email").fill(users["marketer"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="New segment").click()

    first = page.locator('[data-path="root.children[0]"]')
    count = page.locator("#preview-count")
    first.get_by_label("Condition", exact=True).select_option("uplift")
    expect(first.get_by_label("Uplift model", exact=True)).to_have_value("upsell")
    expect(count).to_have_text("0")  # the top 20% under a model that scored nobody
    first.get_by_label("Uplift model", exact=True).select_option("winback")
    expect(count).to_have_text("1")
    first.get_by_label("Top share", exact=True).fill("50")
    expect(count).to_have_text("2")
    expect(page.locator("#preview-funnel li").first).to_contain_text(
        "in the top 50% by uplift under model winback"
    )
    first.get_by_label("Top share test", exact=True).select_option("")
    first.get_by_label("Uplift score test", exact=True).select_option("gt")
    expect(count).to_have_text("2")
    first.get_by_label("Uplift score", exact=True).fill("0.2")
    expect(count).to_have_text("1")
    expect(page.locator("#preview-sample")).to_contain_text("ann@example.com")
    first.get_by_label("Scored", exact=True).select_option("no")
    expect(count).to_have_text("3")
    stored = json.loads(page.locator("#raw-json").input_value())["root"]["children"][0]
    assert stored == {"type": "uplift", "model": "winback", "scored": False}
