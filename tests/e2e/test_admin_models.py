"""The Models section: model list, define and edit form, versions, charts, policy and actions."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Browser
from sqlalchemy import select

from campaign_engine.db import transaction
from campaign_engine.models import UpliftModel, UpliftModelVersion
from campaign_engine.runtime import Runtime
from campaign_engine.uplift_models import jobs
from campaign_engine.uplift_models.metrics import profit_curve
from tests.e2e.conftest import csrf_token, sign_in
from tests.factories import PASSWORD
from tests.integration.test_ml_data import small_campaign
from tests.uplift_model_support import MODEL, add_versions, define_model, seed_store

SVG = re.compile(r"<svg .*?</svg>", re.S)
NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def campaign_id(runtime: Runtime) -> int:
    return seed_store(runtime)


def page_text(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def post(client: FlaskClient, url: str, data: dict[str, object] | None = None) -> str:
    """Post a form with the CSRF token; return where the 303 redirect goes."""
    response = client.post(url, data={"csrf_token": csrf_token(client), **(data or {})})
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return response.headers["Location"]


def row_of(html: str, attribute: str) -> str:
    found = re.search(rf"<tr {attribute}.*?</tr>", html, re.S)
    assert found, attribute
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0))).strip()


def statuses(runtime: Runtime) -> dict[int, str]:
    with transaction(runtime.sessions) as session:
        rows = session.execute(select(UpliftModelVersion.version, UpliftModelVersion.status))
        return {number: status for number, status in rows}


def stored_metrics(runtime: Runtime, version: int = 1) -> dict[str, Any]:
    with transaction(runtime.sessions) as session:
        metrics: dict[str, Any] = session.scalars(
            select(UpliftModelVersion.metrics).where(UpliftModelVersion.version == version)
        ).one()
        return metrics


def test_models_page_lists_the_promoted_version_and_the_last_scoring(
    signed_in: FlaskClient, runtime: Runtime, campaign_id: int
) -> None:
    add_versions(runtime, campaign_id, count=2, promote=2)
    jobs.score(runtime, MODEL)
    qini = stored_metrics(runtime, 2)["normalised_qini"]
    html = page_text(signed_in, "/admin/models")
    row = row_of(html, f'data-model="{MODEL}"')
    assert f"{MODEL} conversion v2 t {qini['model']:.3f} {qini['propensity']:.3f}" in row
    assert "done · 3,000 contacts · v2" in row
    assert "is not available yet" not in html


def test_analysts_find_the_models_page_in_the_navigation(
    client: FlaskClient, users: dict[str, str]
) -> None:
    sign_in(client, users["analyst"])
    assert ">Models</a>" in page_text(client, "/admin/")
    html = page_text(client, "/admin/models")
    assert "No models yet." in html and 'href="/admin/models/new"' in html


def test_define_form_offers_campaigns_with_a_holdout_and_creates_the_model(
    signed_in: FlaskClient, runtime: Runtime, campaign_id: int
) -> None:
    with transaction(runtime.sessions) as session:
        no_holdout = small_campaign(session, ("treatment", "treatment"))
    form = page_text(signed_in, "/admin/models/new")
    assert f'name="campaigns" value="{campaign_id}"' in form
    assert f'name="campaigns" value="{no_holdout}"' not in form
    where = post(
        signed_in,
        "/admin/models/new",
        {
            "name": "spring-offer",
            "description": "Who the spring email persuades",
            "outcome": "conversion",
            "learner": "t",
            "training_mode": "campaigns",
            "campaigns": [str(campaign_id)],
            "retrain_days": "14",
            "auto_promote": "1",
            "value": "40",
            "cost": "0.5",
        },
    )
    with transaction(runtime.sessions) as session:
        model = session.scalars(select(UpliftModel)).one()
        assert where.endswith(f"/admin/models/{model.id}")
        assert (model.name, model.learner, model.retrain_days, model.auto_promote) == (
            "spring-offer",
            "t",
            14,
            True,
        )
        assert model.training["campaigns"] == [campaign_id]
        assert (model.value, model.cost, model.created_by) == (40.0, 0.5, "admin@example.com")
    html = page_text(signed_in, where)
    assert "Model “spring-offer” saved." in html and 'id="no-versions"' in html


def test_define_form_lists_every_problem_and_keeps_what_was_typed(
    signed_in: FlaskClient, runtime: Runtime, campaign_id: int
) -> None:
    bad = {
        "name": "Spring Offer",
        "training_mode": "campaigns",
        "value": "lots",
        "csrf_token": csrf_token(signed_in),
    }
    response = signed_in.post("/admin/models/new", data=bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for field in ("<code>name</code>", "<code>training</code>", "<code>value</code>"):
        assert field in html
    assert 'value="Spring Offer"' in html and 'value="lots"' in html
    with transaction(runtime.sessions) as session:
        define_model(session, campaign_id)
    taken = {"name": MODEL, "training_mode": "campaigns", "campaigns": [str(campaign_id)]}
    again = signed_in.post("/admin/models/new", data=taken | {"csrf_token": csrf_token(signed_in)})
    assert again.status_code == 409 and "already exists" in again.get_data(as_text=True)


def test_editing_keeps_the_name_and_changes_the_training(
    signed_in: FlaskClient, runtime: Runtime, campaign_id: int
) -> None:
    with transaction(runtime.sessions) as session:
        model_id = define_model(session, campaign_id)
    assert f'value="{campaign_id}" id="campaign-{campaign_id}" checked' in page_text(
        signed_in, f"/admin/models/{model_id}/edit"
    )
    post(
        signed_in,
        f"/admin/models/{model_id}/edit",
        {
            "name": "renamed",
            "learner": "x",
            "training_mode": "types",
            "campaign_types": ["retention", "win_back"],
            "days": "90",
        },
    )
    with transaction(runtime.sessions) as session:
        model = session.get(UpliftModel, model_id)
        assert model is not None and model.name == MODEL and model.learner == "x"
        assert model.training == {
            "campaigns": [],
            "campaign_types": ["retention", "win_back"],
            "days": 90,
        }


def test_model_page_draws_the_qini_decile_calibration_and_policy_charts(
    signed_in: FlaskClient, runtime: Runtime, campaign_id: int
) -> None:
    model_id = add_versions(runtime, campaign_id)
    metrics = stored_metrics(runtime)
    html = page_text(signed_in, f"/admin/models/{model_id}")
    charts = [ET.fromstring(chart) for chart in SVG.findall(html)]
    titles = [chart.findtext(f"{NS}title") or "" for chart in charts]
    assert [title.split(":")[0].split(" by ")[0] for title in titles] == [
        "Qini curves",
        "Observed uplift per decile of score (1 = highest)",
        "Calibration",
        "Expected incremental conversions",
        "Expected profit",
    ]
    qini = charts[0]
    assert [
        g.findtext(f"{NS}title") for g in qini.iter(f"{NS}g") if g.get("class") == "series"
    ] == [
        "Uplift model",
        "Response propensity",
        "Random",
    ]
    members = metrics["test_rows"]
    assert f"among {members:,} held-out members" in titles[0]
    deciles = [g for g in charts[1].iter(f"{NS}g") if g.get("class") in ("bar", "bar missing")]
    assert len(deciles) == 20  # ten deciles, model and propensity
    versions = row_of(html, 'data-version="1"')
    assert "v1 promoted t" in versions
    assert f"{metrics['normalised_qini']['model']:.3f}" in versions


def test_policy_chart_marks_the_most_profitable_share_for_the_inputs(
    signed_in: FlaskClient, runtime: Runtime, campaign_id: int
) -> None:
    model_id = add_versions(runtime, campaign_id)
    metrics = stored_metrics(runtime)
    # A contact costs what the average one brings: only the above-average ones are worth it.
    cost = round(40 * max(metrics["mean_predicted_uplift"], 0.001), 4)
    html = page_text(signed_in, f"/admin/models/{model_id}?audience=20000&value=40&cost={cost}")
    rows = profit_curve(metrics, 20_000, 40.0, cost)
    best = max(rows, key=lambda row: (row["profit"], -row["share"]))
    assert best["profit"] > 0 < best["share"] < 1  # the inputs leave a real choice
    found = re.search(r'id="best-share">(.*?)</p>', html, re.S)
    assert found is not None
    sentence = re.sub(r"<[^>]+>", "", found[1])
    assert f"top {best['share']:.0%} ({best['contacts']:,} contacts)" in sentence
    assert f"a profit of {best['profit']:,.2f}" in sentence
    marks = re.findall(r'<g class="mark"><title>([^<]+)</title>', html)
    assert marks == [f"best: {best['share']:.0%}"] * 2
    nobody = page_text(signed_in, f"/admin/models/{model_id}?audience=20000&value=1&cost=5")
    assert "top <strong>0%</strong> (0 contacts)" in nobody  # every contact costs more than it adds


def test_policy_inputs_default_to_the_model_and_the_store(
    signed_in: FlaskClient, runtime: Runtime, campaign_id: int
) -> None:
    with transaction(runtime.sessions) as session:
        define_model(session, campaign_id, value=25.0, cost=0.2)
    model_id = add_versions(runtime, campaign_id)
    form = re.search(
        r'<form method="get" class="search" id="policy-form".*?</form>',
        page_text(signed_in, f"/admin/models/{model_id}"),
        re.S,
    )
    assert form is not None
    for name, value in (("audience", "3000"), ("value", "25.0"), ("cost", "0.2")):
        assert f'name="{name}" class="short" inputmode' in form[0]
        assert re.search(rf'name="{name}"[^>]*value="{re.escape(value)}"', form[0]), name


def test_bad_policy_inputs_are_refused_naming_each_one(
    signed_in: FlaskClient, runtime: Runtime, campaign_id: int
) -> None:
    model_id = add_versions(runtime, campaign_id)
    html = page_text(signed_in, f"/admin/models/{model_id}?audience=-5&cost=abc", status=400)
    assert "<code>audience</code>" in html and "<code>cost</code>" in html
    page_text(signed_in, f"/admin/models/{model_id}?version=9", status=404)


def test_train_button_records_a_request_and_fits_nothing(
    signed_in: FlaskClient, runtime: Runtime, campaign_id: int
) -> None:
    with transaction(runtime.sessions) as session:
        model_id = define_model(session, campaign_id)
    assert 'id="train-form"' in page_text(signed_in, f"/admin/models/{model_id}")
    post(signed_in, f"/admin/models/{model_id}/train")
    with transaction(runtime.sessions) as session:
        model = session.get(UpliftModel, model_id)
        assert model is not None and model.train_requested_at is not None
        assert model.train_requested_by == "admin@example.com"
    assert statuses(runtime) == {}  # the scheduler's job trains it, not the request
    html = page_text(signed_in, f"/admin/models/{model_id}")
    assert 'id="training-requested"' in html and 'id="train-form"' not in html
    post(signed_in, f"/admin/models/{model_id}/train")
    assert "was already requested" in page_text(signed_in, f"/admin/models/{model_id}")


def test_promote_and_roll_back_buttons_switch_the_version_in_use(
    signed_in: FlaskClient, runtime: Runtime, campaign_id: int
) -> None:
    model_id = add_versions(runtime, campaign_id, count=2, promote=1)
    html = page_text(signed_in, f"/admin/models/{model_id}")
    assert f"/admin/models/{model_id}/versions/2/promote" in html
    assert f"/admin/models/{model_id}/rollback" not in html  # nothing earlier to go back to
    post(signed_in, f"/admin/models/{model_id}/versions/2/promote")
    assert statuses(runtime) == {1: "retired", 2: "promoted"}
    html = page_text(signed_in, f"/admin/models/{model_id}")
    assert "Version 2 promoted" in html and f"/admin/models/{model_id}/rollback" in html
    post(signed_in, f"/admin/models/{model_id}/rollback")
    assert statuses(runtime) == {1: "promoted", 2: "retired"}
    post(signed_in, f"/admin/models/{model_id}/versions/1/promote")
    assert "version 1 is already promoted" in page_text(signed_in, f"/admin/models/{model_id}")


def test_marketers_open_models_and_a_forged_request_changes_nothing(
    client: FlaskClient, users: dict[str, str], runtime: Runtime, campaign_id: int
) -> None:
    with transaction(runtime.sessions) as session:
        model_id = define_model(session, campaign_id)
    sign_in(client, users["marketer"])  # they read the policy chart to pick a campaign's rule
    assert client.get(f"/admin/models/{model_id}").status_code == 200
    sign_in(client, users["analyst"])
    forged = client.post(f"/admin/models/{model_id}/train", data={})
    assert forged.status_code == 400  # no CSRF token
    with transaction(runtime.sessions) as session:
        model = session.get(UpliftModel, model_id)
        assert model is not None and model.train_requested_at is None


# --- browser ---------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_analyst_checks_a_model_and_prices_the_policy_in_chromium(
    browser: Browser, live_url: str, users: dict[str, str], runtime: Runtime, campaign_id: int
) -> None:
    from playwright.sync_api import expect

    add_versions(runtime, campaign_id)
    metrics = stored_metrics(runtime)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{live_url}/admin/models")
    page.get_by_label("Email").fill(users["analyst"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=MODEL, exact=True).click()

    expect(page.locator("svg.chart")).to_have_count(5)
    qini = page.get_by_role("img", name=re.compile("^Qini curves"))
    expect(qini).to_be_visible()
    expect(qini.locator("g.series")).to_have_count(3)

    page.get_by_label("Audience", exact=True).fill("20000")
    page.get_by_label("Value per conversion", exact=True).fill("40")
    page.get_by_label("Cost per contact", exact=True).fill("0.5")
    page.get_by_role("button", name="Show").click()
    rows = profit_curve(metrics, 20_000, 40.0, 0.5)
    best = max(rows, key=lambda row: (row["profit"], -row["share"]))
    expect(page.locator("#best-share")).to_contain_text(
        f"top {best['share']:.0%} ({best['contacts']:,} contacts)"
    )
    profit = page.get_by_role("img", name=re.compile("^Expected profit"))
    expect(profit.locator("g.mark")).to_have_count(1)
    assert "audience=20000" in page.url
