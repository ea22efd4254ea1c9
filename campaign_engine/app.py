"""The Flask application factory: runtime, blueprints, health, metrics and error handling."""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime
from importlib.metadata import entry_points
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from campaign_engine.accounts import authenticate_api_key
from campaign_engine.api import api_blueprint, bearer_token
from campaign_engine.config import Settings, load_settings
from campaign_engine.db import transaction
from campaign_engine.errors import DomainError
from campaign_engine.observability import WebMetrics, install_request_logging
from campaign_engine.runtime import Runtime, build_runtime
from campaign_engine.tracking.web import tracking
from campaign_engine.tracking.webhooks import tracking_webhooks
from campaign_engine.web import EXTENSION, current_runtime

WEB_PLUGINS = "campaign_engine.web"


class IsoJSONProvider(DefaultJSONProvider):
    """JSON with ISO 8601 dates and times (Flask's default is the HTTP date format)."""

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, date | datetime):
            return o.isoformat()
        return DefaultJSONProvider.default(o)


__all__ = ["create_app", "current_runtime"]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the web app; UI packages (such as `admin`) plug in through entry points."""
    if runtime is None:
        runtime = build_runtime(settings or load_settings())
    settings = runtime.settings
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    app = Flask(__name__)
    app.json = IsoJSONProvider(app)
    app.config.update(
        SECRET_KEY=settings.secret_key or secrets.token_hex(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        TESTING=settings.testing,
    )
    app.extensions[EXTENSION] = runtime
    metrics = WebMetrics()
    install_request_logging(app, metrics)
    _install_error_handlers(app)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        try:
            runtime.check_database()
        except Exception as exc:  # any failure of the database is "unhealthy"
            return jsonify(status="error", database=str(exc).splitlines()[0]), 503
        return jsonify(status="ok", database="ok"), 200

    @app.get("/metrics")
    def prometheus_metrics() -> Response:
        with transaction(runtime.sessions) as session:
            authenticate_api_key(session, bearer_token(), "metrics")
        return metrics.exposition()

    app.register_blueprint(api_blueprint)
    app.register_blueprint(tracking_webhooks)
    app.register_blueprint(tracking)
    for plugin in entry_points(group=WEB_PLUGINS):
        plugin.load()(app)
    return app


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError) -> tuple[Response, int]:
        body: dict[str, object] = {
            "error": {
                "code": exc.code,
                "message": exc.message,
                "problems": [p.as_dict() for p in exc.problems],
            }
        }
        return jsonify(body), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response | HTTPException:
        if not _wants_json():
            return exc
        body: dict[str, object] = {
            "error": {
                "code": exc.name.lower().replace(" ", "_"),
                "message": exc.description,
                "problems": [],
            }
        }
        response = jsonify(body)
        response.status_code = exc.code or 500
        return response
