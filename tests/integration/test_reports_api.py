"""The report API on SQLite and PostgreSQL: JSON shapes, CSV files, filters, 400/404, scopes."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from campaign_engine.app import create_app
from campaign_engine.db import transaction
from campaign_engine.models import Campaign
from campaign_engine.runtime import Runtime
from tests.factories import make_api_key
from tests.report_support import NOON, Built, build

ONE = "/api/v1/campaigns/{id}/report"


@pytest.fixture
def token(runtime: Runtime) -> str:
    with transaction(runtime.sessions) as session:
        return make_api_key(session, "read")[1]


@pytest.fixture
def built(runtime: Runtime) -> Built:
    with transaction(runtime.sessions) as session:
        return build(session)


def get(client: FlaskClient, token: str, url: str, **query: Any) -> TestResponse:
    return client.get(url, query_string=query, headers={"Authorization": f"Bearer {token}"})


def csv_rows(response: TestResponse) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def problem_locations(response: TestResponse) -> list[str]:
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "invalid_query"
    return [p["location"] for p in error["problems"]]


def test_campaign_report_has_metrics_breakdowns_and_both_rois_side_by_side(
    client: FlaskClient, token: str, built: Built
) -> None:
    body = get(client, token, ONE.format(id=built.campaign_id)).get_json()
    metrics, roi = body["metrics"], body["roi"]
    totals = metrics["totals"]
    assert (totals["sent"], totals["opened"], totals["clicked"], totals["bounced"]) == (6, 2, 2, 1)
    assert (totals["unsubscribed"], totals["purchases"], totals["revenue"]) == (1, 3, 200)
    assert [row["key"] for row in metrics["by_variant"]] == ["A", "B"]
    assert [row["key"] for row in metrics["by_segment"]] == ["everyone", "leeds"]
    assert [row["key"] for row in metrics["by_day"]] == ["2026-06-10", "2026-06-11"]
    assert [p["sku"] for p in metrics["new_leads_by_product"]] == ["P2", "P1"]
    assert roi["attributed"] | {"roi": None} == {
        "model": "last_touch",
        "purchases": 3,
        "buyers": 3,
        "revenue": 200,
        "margin": 80,
        "cost": 103,
        "roi": None,
        "margin_roi": pytest.approx((80 - 103) / 103),
    }
    incremental = roi["incremental"]
    assert (incremental["treated"]["contacts"], incremental["control"]["contacts"]) == (6, 2)
    assert set(incremental["conversion_lift"]) == {"value", "low", "high", "standard_error"}
    assert incremental["too_small"] is True
    assert "the holdout has 2 contacts" in incremental["too_small_reason"]
    assert [g["group"] for g in body["groups"]] == ["treatment", "holdout"]
    assert body["groups"][0]["conversion_rate"]["value"] == pytest.approx(3 / 6)
    assert body["daily"][0] == {
        "day": "2026-06-10",
        "sent": 6,
        "delivered": 4,
        "opened": 2,
        "clicked": 1,
        "purchases": 1,
        "revenue": 100.0,
    }


def test_model_and_machine_events_are_chosen_by_the_query(
    client: FlaskClient, token: str, built: Built
) -> None:
    url = ONE.format(id=built.campaign_id)
    first = get(client, token, url, model="first_touch").get_json()
    machine = get(client, token, url, include_machine="true").get_json()
    assert first["metrics"]["model"] == "first_touch"
    assert (first["roi"]["attributed"]["purchases"], first["roi"]["attributed"]["revenue"]) == (
        1,
        100,
    )
    assert machine["metrics"]["include_machine"] is True
    assert machine["metrics"]["totals"]["opened"] == 2 + 3


def test_campaign_report_csv_holds_every_metrics_row_and_the_roi_row(
    client: FlaskClient, token: str, built: Built
) -> None:
    response = get(client, token, f"{ONE.format(id=built.campaign_id)}.csv", model="linear")
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="campaign-{built.campaign_id}-report-linear.csv"'
    rows = csv_rows(response)
    header = list(rows[0])
    assert header[:6] == ["campaign_id", "code", "model", "dimension", "key", "sent"]
    assert "incremental_roi_low" in header and "attributed_margin_roi" in header
    dimensions = [row["dimension"] for row in rows]
    assert dimensions == ["total"] + ["variant"] * 2 + ["channel"] * 2 + ["segment"] * 2 + [
        "day"
    ] * 2 + ["roi"]
    total, roi = rows[0], rows[-1]
    assert (total["sent"], total["revenue"], total["model"]) == ("6", "50.0", "linear")
    assert (roi["attributed_purchases"], roi["incremental_too_small"]) == ("1", "True")
    assert roi["sent"] == "" and total["attributed_purchases"] == ""


def test_daily_series_spans_the_period_asked_for(
    client: FlaskClient, token: str, built: Built
) -> None:
    url = f"{ONE.format(id=built.campaign_id)}/daily"
    body = get(client, token, url, since="2026-06-09", until="2026-06-12").get_json()
    assert body["campaign_id"] == built.campaign_id
    assert [d["day"] for d in body["days"]] == [f"2026-06-{d:02d}" for d in (9, 10, 11, 12)]
    assert [d["purchases"] for d in body["days"]] == [0, 1, 2, 0]


def second_campaign(runtime: Runtime, **fields: Any) -> int:
    with transaction(runtime.sessions) as session:
        values = {"code": "T2", "name": "Quiet", "channel": "sms", "cost": 10} | fields
        campaign = Campaign(**values)
        session.add(campaign)
        session.flush()
        return campaign.id


def test_comparison_filters_and_sorts(
    client: FlaskClient, token: str, built: Built, runtime: Runtime
) -> None:
    quiet = second_campaign(runtime, started_at=NOON)
    url = "/api/v1/reports/campaigns"
    email = get(client, token, url, channel="email").get_json()["campaigns"]
    by_cost = get(client, token, url, sort="cost", order="asc").get_json()["campaigns"]
    by_roi = get(client, token, url, sort="incremental_roi").get_json()["campaigns"]
    later = get(client, token, url, since="2026-06-11").get_json()["campaigns"]
    assert [row["campaign_id"] for row in email] == [built.campaign_id]
    assert email[0]["sent"] == 6 and email[0]["incremental_roi"] is not None
    assert [row["campaign_id"] for row in by_cost] == [quiet, built.campaign_id]
    assert [row["campaign_id"] for row in by_roi][-1] == quiet  # no estimate: last
    assert later == []


def test_comparison_csv_has_a_row_per_campaign(
    client: FlaskClient, token: str, built: Built, runtime: Runtime
) -> None:
    second_campaign(runtime)
    response = get(client, token, "/api/v1/reports/campaigns.csv", sort="name", order="asc")
    assert "campaign-comparison.csv" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert [row["code"] for row in rows] == ["T2", "T1"]
    assert {"attributed_roi", "incremental_roi_value", "too_small"} <= set(rows[0])


def test_channel_performance_as_json_and_csv(client: FlaskClient, token: str, built: Built) -> None:
    period = {"since": "2026-06-09", "until": "2026-06-19"}
    body = get(client, token, "/api/v1/reports/channels", **period).get_json()
    rows = csv_rows(get(client, token, "/api/v1/reports/channels.csv", **period))
    assert body["since"] == "2026-06-09T00:00:00+00:00"
    assert body["until"] == "2026-06-20T00:00:00+00:00"  # a bare `until` date includes its day
    sent = {row["key"]: row["sent"] for row in body["channels"]}
    assert sent == {"email": 4, "sms": 2}
    assert [(row["key"], row["sent"]) for row in rows] == [("email", "4"), ("sms", "2")]


def test_programme_needs_the_global_holdout(
    client: FlaskClient, token: str, built: Built, runtime: Runtime
) -> None:
    off = get(client, token, "/api/v1/reports/programme")
    assert off.status_code == 409
    assert "CE_GLOBAL_HOLDOUT_PERCENT" in off.get_json()["error"]["message"]

    dispatch = replace(runtime.settings.dispatch, global_holdout_percent=10)
    held = replace(runtime, settings=replace(runtime.settings, dispatch=dispatch))
    on = create_app(runtime=held).test_client()
    body = get(on, token, "/api/v1/reports/programme", since="2026-06-01").get_json()
    programme = body["programme"]
    assert programme["percent"] == 10 and programme["since"] == "2026-06-01T00:00:00+00:00"
    assert programme["holdout"]["contacts"] + programme["rest"]["contacts"] == 8  # made today
    assert programme["rest"]["buyers"] + programme["holdout"]["buyers"] == 3  # June's buyers
    assert [g["group"] for g in body["groups"]] == ["everyone_else", "global_holdout"]
    assert programme["too_small"] is True


@pytest.mark.parametrize(
    ("url", "query", "location"),
    [
        (ONE, {"model": "bogus"}, "model"),
        (ONE, {"include_machine": "maybe"}, "include_machine"),
        (ONE + "/daily", {"since": "June"}, "since"),
        (ONE + "/daily", {"since": "2026-06-10", "until": "2026-06-01"}, "until"),
        ("/api/v1/reports/campaigns", {"status": "finished"}, "status"),
        ("/api/v1/reports/campaigns", {"sort": "colour"}, "sort"),
        ("/api/v1/reports/campaigns", {"order": "up"}, "order"),
        ("/api/v1/reports/channels", {"until": "2026-13-01"}, "until"),
        ("/api/v1/reports/programme", {"since": "2026-07-01", "until": "2026-06-01"}, "until"),
    ],
)
def test_a_bad_query_value_is_a_400_naming_the_parameter(
    client: FlaskClient, token: str, built: Built, url: str, query: dict[str, str], location: str
) -> None:
    response = get(client, token, url.format(id=built.campaign_id), **query)
    assert problem_locations(response) == [location]


def test_every_bad_value_is_named_at_once(client: FlaskClient, token: str, built: Built) -> None:
    response = get(client, token, "/api/v1/reports/campaigns", model="x", type="y", since="z")
    assert sorted(problem_locations(response)) == ["model", "since", "type"]


@pytest.mark.parametrize("suffix", ["", ".csv", "/daily"])
def test_an_unknown_campaign_is_a_404(client: FlaskClient, token: str, suffix: str) -> None:
    response = get(client, token, ONE.format(id=999_999) + suffix)
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == "campaign 999999 does not exist"


def test_reports_need_a_key_with_the_read_scope(
    client: FlaskClient, runtime: Runtime, built: Built
) -> None:
    with transaction(runtime.sessions) as session:
        _, ingest_only = make_api_key(session, "ingest")
    url = ONE.format(id=built.campaign_id)
    assert client.get(url).status_code == 401
    assert client.get("/api/v1/reports/campaigns.csv").status_code == 401
    refused = get(client, ingest_only, url)
    assert refused.status_code == 403
    assert "'read' scope" in refused.get_json()["error"]["message"]
