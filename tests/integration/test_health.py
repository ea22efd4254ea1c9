"""Health and metrics endpoints."""

from flask.testing import FlaskClient


def test_healthz_reports_database_ok(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_metrics_are_prometheus_text_and_count_requests(client: FlaskClient) -> None:
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'ce_http_requests_total{endpoint="healthz",method="GET",status="200"} 1.0' in body
