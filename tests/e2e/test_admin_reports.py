"""The Reports section: campaign report page, comparison, channels, programme; HTTP and Chromium."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Browser

from admin.reports import COLUMNS
from campaign_engine.app import create_app
from campaign_engine.db import transaction
from campaign_engine.models import Campaign
from campaign_engine.runtime import Runtime
from tests.e2e.conftest import sign_in
from tests.factories import PASSWORD
from tests.report_support import Built, build

SVG = re.compile(r"<svg .*?</svg>", re.S)


@pytest.fixture
def built(runtime: Runtime) -> Built:
    with transaction(runtime.sessions) as session:
        return build(session)


def page_text(client: FlaskClient, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def cell(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert found, element_id
    return re.sub(r"\s+", " ", found.group(1)).strip()


def test_campaign_report_page_draws_every_chart_and_both_rois(
    signed_in: FlaskClient, built: Built
) -> None:
    html = page_text(signed_in, f"/admin/campaigns/{built.campaign_id}/report")
    charts = SVG.findall(html)
    assert len(charts) == 7  # funnel, two daily, ROI, two treatment-versus-holdout, variants
    titles = [
        ET.fromstring(chart).findtext("{http://www.w3.org/2000/svg}title") for chart in charts
    ]
    assert "Attributed versus incremental ROI" in titles
    assert "Delivery funnel: sent, delivered, opened, clicked, purchased" in titles
    assert cell(html, "total-sent") == "6" and cell(html, "total-revenue") == "200.00"
    assert cell(html, "roi-attributed-margin") == f"{(80 - 103) / 103:.1%}"
    assert "Too small to tell." in html and "the holdout has 2 contacts" in html
    for table in ("roi", "groups", "by-variant", "by-channel", "by-segment", "by-day", "new-leads"):
        assert f'id="{table}"' in html
    assert 'id="csv-link" href="/admin/campaigns/' in html


def test_a_campaign_never_sent_has_a_report_with_nothing_made_up(
    signed_in: FlaskClient, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        draft = Campaign(code="D1", name="Draft", channel="email")
        session.add(draft)
        session.flush()
        campaign_id = draft.id
    html = page_text(signed_in, f"/admin/campaigns/{campaign_id}/report")
    assert "not sent yet" in html and "the campaign has sent nothing" in html
    for chart in SVG.findall(html):
        ET.fromstring(chart)
    assert "n/a" in html  # no ROI without a cost, no group means without members
    assert cell(html, "roi-attributed-margin") == "—"


def test_report_options_change_the_model_and_the_csv_link(
    signed_in: FlaskClient, built: Built
) -> None:
    url = f"/admin/campaigns/{built.campaign_id}/report?model=first_touch&include_machine=true"
    html = page_text(signed_in, url)
    assert cell(html, "total-revenue") == "100.00" and cell(html, "total-opened") == "5"
    assert '<option value="first_touch" selected>' in html
    link = re.search(r'id="csv-link" href="([^"]+)"', html)
    assert link is not None
    response = signed_in.get(link.group(1).replace("&amp;", "&"))
    disposition = response.headers["Content-Disposition"]
    assert (
        disposition == f'attachment; filename="campaign-{built.campaign_id}-report-first_touch.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0]["dimension"] == "total" and rows[0]["opened"] == "5"
    assert rows[-1]["dimension"] == "roi"


def test_bad_options_and_unknown_campaigns_get_error_pages(
    signed_in: FlaskClient, built: Built
) -> None:
    html = page_text(signed_in, f"/admin/campaigns/{built.campaign_id}/report?model=x", 400)
    assert "<code>model</code>" in html
    page_text(signed_in, "/admin/campaigns/999999/report", 404)
    assert "<code>sort</code>" in page_text(signed_in, "/admin/reports?sort=x", 400)


def test_the_campaign_page_links_to_its_report(signed_in: FlaskClient, built: Built) -> None:
    html = page_text(signed_in, f"/admin/campaigns/{built.campaign_id}")
    assert f'href="/admin/campaigns/{built.campaign_id}/report" id="report-link"' in html


def test_comparison_table_filters_and_sorts_by_a_column(
    signed_in: FlaskClient, built: Built
) -> None:
    html = page_text(signed_in, "/admin/reports?sort=revenue&order=desc")
    assert f'data-campaign-id="{built.campaign_id}"' in html
    assert 'aria-sort="descending"' in html
    assert "sort=revenue&amp;order=asc" in html  # the sorted column's link flips the order
    assert len(re.findall(r"data-sort=", html)) == len(COLUMNS)
    assert "No campaign matches" in page_text(signed_in, "/admin/reports?channel=sms")
    csv_text = signed_in.get("/admin/reports/campaigns.csv?channel=email").get_data(as_text=True)
    assert [row["code"] for row in csv.DictReader(io.StringIO(csv_text))] == ["T1"]


def test_channel_page_shows_each_channel_over_the_period(
    signed_in: FlaskClient, built: Built
) -> None:
    html = page_text(signed_in, "/admin/reports/channels?since=2026-06-09&until=2026-06-19")
    assert 'data-key="email"' in html and 'data-key="sms"' in html
    assert 'value="2026-06-19"' in html  # the last day included, as entered
    download = signed_in.get("/admin/reports/channels.csv?since=2026-06-09&until=2026-06-19")
    assert "channels-20260609-20260620.csv" in download.headers["Content-Disposition"]


def test_programme_page_says_when_the_global_holdout_is_off_and_reports_when_on(
    signed_in: FlaskClient, built: Built, runtime: Runtime, users: dict[str, str]
) -> None:
    assert "No global holdout." in page_text(signed_in, "/admin/reports/programme")
    dispatch = replace(runtime.settings.dispatch, global_holdout_percent=10)
    held = create_app(
        runtime=replace(runtime, settings=replace(runtime.settings, dispatch=dispatch))
    )
    client = held.test_client()
    sign_in(client, users["analyst"])
    html = page_text(client, "/admin/reports/programme?since=2026-06-01")
    assert len(SVG.findall(html)) == 2 and 'id="programme-roi"' in html
    assert "Global holdout" in html


def test_an_analyst_reads_reports(client: FlaskClient, users: dict[str, str], built: Built) -> None:
    sign_in(client, users["analyst"])
    page_text(client, f"/admin/campaigns/{built.campaign_id}/report")
    page_text(client, "/admin/reports")


# --- browser ---------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_marketer_opens_a_campaign_report_and_switches_the_model(
    browser: Browser, live_url: str, users: dict[str, str], built: Built
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{live_url}/admin/campaigns/{built.campaign_id}")
    page.get_by_label("Email").fill(users["marketer"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Report", exact=True).click()

    expect(page.get_by_role("heading", name="Return on investment")).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(7)
    funnel = page.get_by_role(
        "img", name="Delivery funnel: sent, delivered, opened, clicked, purchased"
    )
    expect(funnel).to_be_visible()
    expect(funnel.locator("g.bar")).to_have_count(5)
    roi = page.get_by_role("img", name="Attributed versus incremental ROI")
    expect(roi.locator("path.interval")).to_have_count(1)
    expect(page.locator("#roi-attributed-margin")).to_have_text(f"{(80 - 103) / 103:.1%}")
    expect(page.locator("#roi-incremental")).to_contain_text(" to ")
    expect(page.locator("#too-small")).to_contain_text("the holdout has 2 contacts")
    expect(page.locator("#total-revenue")).to_have_text("200.00")

    page.get_by_label("Attribution model").select_option("first_touch")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#total-revenue")).to_have_text("100.00")
    assert "model=first_touch" in page.url
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == (
        f"campaign-{built.campaign_id}-report-first_touch.csv"
    )

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports").click()
    expect(page.locator(f'#comparison tr[data-campaign-id="{built.campaign_id}"]')).to_be_visible()
    page.get_by_role("link", name="Revenue").click()
    expect(page.locator("#comparison th[aria-sort]")).to_contain_text("Revenue")
