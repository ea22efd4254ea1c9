"""The storefront API: POST /personalise, POST /personalise/clicks, GET /recommendations.

These are the hottest API calls, so, like tracking pixels, they are answered by WSGI
middleware in front of Flask: check the key (cached, see key_cache.py), parse, one service
call, JSON out. Each keeps the API's error shape (`{"error": {code, message, problems}}`)
and never answers 500 for bad input. They skip the per-request log line and request metrics;
the impression and click events are their record. Scope: `personalise`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qs

from flask.blueprints import BlueprintSetupState
from sqlalchemy import Connection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

from campaign_engine.api import api_blueprint
from campaign_engine.db import make_engine
from campaign_engine.errors import DomainError, InvalidInput, Problem
from campaign_engine.key_cache import KeyCache
from campaign_engine.models.types import utcnow
from campaign_engine.personalisation import lookup, personalise
from campaign_engine.personalisation_events import EventSink, click_row, event_sink
from campaign_engine.personalisation_requests import (
    MAX_BODY_BYTES,
    ClickRequest,
    PersonaliseRequest,
    parse_body,
    parse_query,
)
from campaign_engine.personalisation_store import ScoreLookup
from campaign_engine.recommend.settings import RecommendSettings
from campaign_engine.recommend.snapshot import SnapshotCache
from campaign_engine.runtime import Runtime
from campaign_engine.uplift_models.storefront import kind_scores
from campaign_engine.web import EXTENSION

SCOPE = "personalise"
PERSONALISE, CLICKS, RECOMMENDATIONS = (
    "/api/v1/personalise",
    "/api/v1/personalise/clicks",
    "/api/v1/recommendations",
)
METHODS = {PERSONALISE: "POST", CLICKS: "POST", RECOMMENDATIONS: "GET"}
STATE = "campaign_engine.personalise"
HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
STATUS = {
    200: "200 OK",
    202: "202 Accepted",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    409: "409 Conflict",
    413: "413 Payload Too Large",
    415: "415 Unsupported Media Type",
    422: "422 Unprocessable Entity",
    500: "500 Internal Server Error",
}
T = TypeVar("T")
WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]
log = logging.getLogger(__name__)


class MethodNotAllowed(DomainError):
    """The path exists, but not with this method."""

    status = 405
    code = "method_not_allowed"


@dataclass
class Storefront:
    """What the storefront endpoints share in one process.

    `scores` looks up a contact's uplift scores (keyed by SKU or recommendation kind); None
    ranks by lift x margin alone.
    """

    settings: RecommendSettings
    reads: Engine
    rules: SnapshotCache
    keys: KeyCache
    events: EventSink
    scores: ScoreLookup | None = None

    @classmethod
    def of(cls, runtime: Runtime) -> Storefront:
        """Build the shared state from the runtime's settings and database."""
        settings = runtime.settings.recommend
        tracking = runtime.settings.tracking
        storefront = cls(
            settings=settings,
            reads=read_engine(runtime.engine),
            rules=SnapshotCache(runtime.engine, settings.cache_seconds),
            keys=KeyCache(runtime.sessions, settings.key_cache_seconds),
            events=event_sink(runtime.sessions, tracking.writes, tracking.flush_ms),
            scores=kind_scores,
        )
        weakref.finalize(storefront, storefront.reads.dispose)
        return storefront

    def personalise(self, body: bytes, length: int | None) -> tuple[int, dict[str, Any]]:
        """Answer one page view and record its impression."""
        request = parse_body(PersonaliseRequest, body, length)
        snapshot = self.rules.get()
        answer, impression = self._read(
            request.contact_id,
            lambda db: personalise(db, snapshot, self.settings, request, utcnow(), self.scores),
        )
        self.events.submit(impression)
        return 200, answer

    def _read(self, contact_id: str | None, work: Callable[[Connection | None], T]) -> T:
        """Run `work` on a read connection when there is a contact to read, else on None.

        A pooled connection the server has dropped fails once; the work is retried on a
        fresh one.
        """
        if contact_id is None:
            return work(None)
        try:
            with self.reads.connect() as db:
                return work(db)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        with self.reads.connect() as db:
            return work(db)

    def click(self, body: bytes, length: int | None) -> tuple[int, dict[str, Any]]:
        """Record a click on an item of an answer (a replayed click counts once)."""
        request = parse_body(ClickRequest, body, length)
        if request.sku not in self.rules.get().by_sku:
            raise InvalidInput("unknown product", [Problem("sku", "no product with this SKU")])
        key = hashlib.sha256(
            f"{request.impression_id}:{request.slot or ''}:{request.sku}".encode()
        ).hexdigest()[:64]
        properties = request.model_dump(exclude_none=True)
        self.events.submit(click_row(key, None, properties, utcnow()))
        return 202, {"recorded": True}

    def recommendations(self, query_string: str) -> tuple[int, dict[str, Any]]:
        """Answer a simple lookup (no impression is recorded)."""
        query = parse_query(parse_qs(query_string, keep_blank_values=True))
        snapshot = self.rules.get()
        answer = self._read(
            query.contact_id,
            lambda db: lookup(db, snapshot, self.settings, query, utcnow(), self.scores),
        )
        return 200, answer


def read_engine(engine: Engine) -> Engine:
    """Return an engine for the storefront's reads, on the same database as `engine`.

    Each contact costs one query, so the usual checkout work is left out: no ping before
    use (a connection the server dropped fails once, and the request is retried on a fresh
    one), no rollback on return, and autocommit, so no BEGIN or COMMIT either.
    """
    return make_engine(
        engine.url.render_as_string(hide_password=False),
        pool_pre_ping=False,
        pool_reset_on_return=None,
        isolation_level="AUTOCOMMIT",
    )


class StorefrontFastPath:
    """WSGI middleware: the storefront endpoints are answered here, everything else by `app`."""

    def __init__(self, app: WSGIApp, storefront: Storefront) -> None:
        self.app = app
        self.storefront = storefront

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path not in METHODS:
            return self.app(environ, start_response)
        try:
            status, body = self._answer(path, environ)
        except DomainError as error:
            status, body = error.status, _error(error.code, error.message, error.problems)
        except Exception:  # never a stack trace to the storefront
            log.exception("storefront request %s failed", path)
            status, body = (
                500,
                _error("internal_server_error", "something went wrong on our side", []),
            )
        payload = json.dumps(body, separators=(",", ":"), default=str).encode()
        start_response(
            STATUS.get(status, f"{status} Error"),
            [*HEADERS, ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _answer(self, path: str, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        method = environ.get("REQUEST_METHOD", "")
        if method != METHODS[path]:
            raise MethodNotAllowed(f"{path} takes {METHODS[path]}")
        self.storefront.keys.check(_bearer(environ), SCOPE)
        if path == RECOMMENDATIONS:
            return self.storefront.recommendations(environ.get("QUERY_STRING", ""))
        length, body = _body(environ)
        if path == PERSONALISE:
            return self.storefront.personalise(body, length)
        return self.storefront.click(body, length)


def _bearer(environ: dict[str, Any]) -> str | None:
    kind, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    return token.strip() if kind.lower() == "bearer" else None


def _body(environ: dict[str, Any]) -> tuple[int | None, bytes]:
    content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise InvalidInput(
            "send a JSON body with Content-Type: application/json",
            [Problem("Content-Type", f"got {content_type or 'none'!r}")],
        )
    raw_length = environ.get("CONTENT_LENGTH") or ""
    length = int(raw_length) if raw_length.isdigit() else None
    limit = MAX_BODY_BYTES + 1 if length is None else min(length, MAX_BODY_BYTES + 1)
    return length, environ["wsgi.input"].read(limit)


def _error(code: str, message: str, problems: list[Problem]) -> dict[str, Any]:
    return {
        "error": {"code": code, "message": message, "problems": [p.as_dict() for p in problems]}
    }


@api_blueprint.record_once
def _install(setup: BlueprintSetupState) -> None:
    app = setup.app
    runtime: Runtime = app.extensions[EXTENSION]
    storefront = Storefront.of(runtime)
    app.wsgi_app = StorefrontFastPath(app.wsgi_app, storefront)  # type: ignore[attr-defined]
    app.extensions[STATE] = storefront


def storefront_of(extensions: dict[str, Any]) -> Storefront:
    """Return the storefront state of an app (tests flush its events through it)."""
    storefront: Storefront = extensions[STATE]
    return storefront
