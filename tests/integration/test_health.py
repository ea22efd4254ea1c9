"""Health and metrics endpoints."""

from pathlib import Path

from flask.testing import FlaskClient

from campaign_engine.app import create_app
from campaign_engine.config import Settings
from campaign_engine.db import transaction
from campaign_engine.runtime import Runtime, build_runtime
from tests.factories import make_api_key


def test_healthz_reports_database_ok_without_login(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database_as_503(tmp_path: Path) -> None:
    settings = Settings(
        instance_path=tmp_path,
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/none",
        testing=True,
    )
    client = create_app(runtime=build_runtime(settings)).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "error"


def test_metrics_need_a_metrics_key_and_count_requests(
    client: FlaskClient, runtime: Runtime
) -> None:
    with transaction(runtime.sessions) as session:
        _, ingest_only = make_api_key(session, "ingest")
        _, scraper = make_api_key(session, "metrics")
    assert client.get("/metrics").status_code == 401
    assert (
        client.get("/metrics", headers={"Authorization": f"Bearer {ingest_only}"}).status_code
        == 403
    )
    client.get("/healthz")
    response = client.get("/metrics", headers={"Authorization": f"Bearer {scraper}"})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'ce_http_requests_total{endpoint="healthz",method="GET",status="200"} 1.0' in body
    assert (
        'ce_http_requests_total{endpoint="prometheus_metrics",method="GET",status="401"} 1.0'
        in body
    )
