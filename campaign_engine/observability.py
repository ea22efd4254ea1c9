"""Request logging and Prometheus metrics for the web app."""

from __future__ import annotations

import logging
import time
import uuid

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger("campaign_engine.request")


class WebMetrics:
    """The app's own Prometheus registry (one per app, so tests never collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ce_http_requests",
            "HTTP requests served",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ce_http_request_duration_seconds",
            "HTTP request latency",
            ["endpoint"],
            registry=self.registry,
        )

    def exposition(self) -> Response:
        """Return the registry in the Prometheus text format."""
        return Response(generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST)


def install_request_logging(app: Flask, metrics: WebMetrics) -> None:
    """Log one line per request with its id, and count it in `metrics`."""

    @app.before_request
    def _start() -> None:
        g.request_started = time.perf_counter()
        g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex[:16]

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("request_started", time.perf_counter())
        endpoint = request.endpoint or "unmatched"
        metrics.requests.labels(request.method, endpoint, str(response.status_code)).inc()
        metrics.latency.labels(endpoint).observe(elapsed)
        response.headers["X-Request-ID"] = g.get("request_id", "")
        log.info(
            "%s %s %s %.1fms id=%s",
            request.method,
            request.path,
            response.status_code,
            elapsed * 1000,
            g.get("request_id", ""),
        )
        return response
